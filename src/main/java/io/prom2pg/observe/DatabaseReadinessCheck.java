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
public class DatabaseReadinessCheck extends AbstractHealthCheck {

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

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        if (!migrator.isReady()) {
            builder.message("database schema not ready: " + migrator.lastError()).down();
        } else if (!database.isReachable()) {
            builder.message("database not reachable: " + database.lastPingError()).down();
        } else {
            builder.up();
        }
    }
}
