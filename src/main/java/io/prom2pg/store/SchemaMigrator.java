package io.prom2pg.store;

import java.util.Map;

import javax.sql.DataSource;

import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings prom2pg's schema to the current version with Flyway (versioned, idempotent SQL under
 * {@code db/migration}). Runs in the background and retries with backoff while the database is
 * not reachable, so prom2pg starts (and answers 503, not ready) before its database does.
 */
public class SchemaMigrator implements OnCamelContextStarted {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaMigrator.class);

    private DataSource dataSource;
    private String schema = "prom2pg";
    private long initialBackoffMillis = 500;
    private long maxBackoffMillis = 15_000;

    private volatile boolean ready;
    private final java.util.concurrent.CompletableFuture<Void> migrated = new java.util.concurrent.CompletableFuture<>();
    private volatile String lastError = "schema migration in progress";
    private volatile boolean stopped;
    private Thread worker;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setMaxBackoffMillis(long maxBackoffMillis) {
        this.maxBackoffMillis = maxBackoffMillis;
    }

    @Override
    public void onContextStarted(CamelContext context) {
        start();
    }

    public synchronized void start() {
        if (worker != null) {
            return;
        }
        stopped = false;
        worker = new Thread(this::migrateUntilDone, "prom2pg-schema");
        worker.setDaemon(true);
        worker.start();
    }

    public synchronized void stop() {
        stopped = true;
        if (worker != null) {
            worker.interrupt();
            worker = null;
        }
    }

    private void migrateUntilDone() {
        long backoff = initialBackoffMillis;
        int attempt = 0;
        while (!stopped) {
            attempt++;
            try {
                MigrateResult result = flyway().migrate();
                LOG.info("Schema {} at version {} ({} migration(s) applied)", schema,
                        result.targetSchemaVersion != null ? result.targetSchemaVersion : result.initialSchemaVersion,
                        result.migrationsExecuted);
                lastError = null;
                ready = true;
                migrated.complete(null);
                return;
            } catch (RuntimeException e) {
                lastError = dataSource instanceof Database db ? db.explain(e) : Sql.oneLine(e);
                if (attempt == 1 || attempt % 10 == 0) {
                    LOG.warn("Schema migration attempt {} failed, retrying in {} ms: {}", attempt, backoff, lastError);
                }
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(maxBackoffMillis, backoff * 2);
        }
    }

    private Flyway flyway() {
        return Flyway.configure()
                .dataSource(dataSource)
                .schemas(schema)
                .defaultSchema(schema)
                .placeholders(Map.of("schema", schema))
                .locations("classpath:db/migration")
                .connectRetries(0)
                .load();
    }

    /** Throws {@link StorageUnavailableException} (a 503) until the schema is migrated. */
    public void requireReady() {
        if (!ready) {
            throw new StorageUnavailableException("database not ready: " + lastError);
        }
    }

    /** Completes once the schema is migrated (for the start-up line saying prom2pg is ready). */
    public java.util.concurrent.CompletionStage<Void> whenMigrated() {
        return migrated;
    }

    public boolean isReady() {
        return ready;
    }

    public String lastError() {
        return lastError;
    }
}
