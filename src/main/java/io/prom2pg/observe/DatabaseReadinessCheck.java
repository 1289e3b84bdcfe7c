package io.prom2pg.observe;

import java.util.Map;

import io.prom2pg.store.Database;
import io.prom2pg.store.SchemaMigrator;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Readiness: up only when the schema is migrated and the last database ping succeeded. Reads
 * state kept by the ping route, so a probe never waits on a connection.
 */
public class DatabaseReadinessCheck extends AbstractHealthCheck implements org.apache.camel.spi.OnCamelContextStarted {

    private Database database;
    private SchemaMigrator migrator;

    public DatabaseReadinessCheck() {
        super("prom2pg", "database");
    }

    public void setDatabase(Database database) {
        this.database = database;
    }

    public void setMigrator(SchemaMigrator migrator) {
        this.migrator = migrator;
    }

    /** Readiness as a metric too, {@code prom2pg_ready} (1 or 0), for alerts that outlive a probe's restarts. */
    @Override
    public void onContextStarted(org.apache.camel.CamelContext context) {
        var registry = context.getRegistry().lookupByNameAndType("metricsRegistry", io.micrometer.core.instrument.MeterRegistry.class);
        if (registry != null) {
            io.micrometer.core.instrument.Gauge.builder("prom2pg.ready", this, c -> c.isReady() ? 1 : 0)
                    .description("1 when the schema is migrated and the database answers, as the readiness probe says")
                    .register(registry);
        }
    }

    public boolean isReady() {
        return migrator.isReady() && database.isReachable();
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    /** Why prom2pg is not ready, or null when it is. */
    public String notReadyReason() {
        if (!migrator.isReady()) {
            return "database schema not ready: " + migrator.lastError();
        }
        if (!database.isReachable()) {
            return "database not reachable: " + database.lastPingError();
        }
        return null;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        String reason = notReadyReason();
        if (reason != null) {
            builder.message(reason).down();
        } else {
            builder.up();
        }
    }
}
