package io.prom2pg.store;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings prom2pg's schema to the current version with Flyway (versioned, idempotent SQL under
 * {@code db/migration}). Runs in the background and retries with backoff while the database is
 * not reachable, so prom2pg starts (and answers 503, not ready) before its database does. A
 * failure that retrying cannot fix (a permission, a syntax error, a FATAL other than the server
 * starting or stopping) ends the attempts: {@link #onFatal} hears of it, and prom2pg stops with
 * exit code 2 and the reason. Every attempt gives back every connection it took.
 */
public class SchemaMigrator implements OnCamelContextStarted {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaMigrator.class);

    /**
     * V1's checksums before it learned to leave out a TimescaleDB that is not preloaded, and
     * before it created the extension in public and read whether it is preloaded without a
     * privilege to read the server's settings, and now: a database V1 made keeps its layout, so
     * its recorded checksum is brought up to date.
     */
    static final List<Integer> V1_CHECKSUMS_BEFORE = List.of(-283095503, 236762543);
    static final int V1_CHECKSUM = 1668635630;

    private DataSource dataSource;
    private String schema = "prom2pg";
    private long initialBackoffMillis = 500;
    private long maxBackoffMillis = 15_000;

    private volatile boolean ready;
    private volatile String lastError = "schema migration in progress";
    private volatile String fatalError;
    private volatile boolean stopped;
    private final CompletableFuture<Void> migrated = new CompletableFuture<>();
    private volatile Consumer<String> onFatal = reason -> { };
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

    /** Who to tell when migrating failed for good (prom2pg's launcher stops with exit code 2). */
    public void onFatal(Consumer<String> listener) {
        this.onFatal = listener;
        if (fatalError != null) {
            listener.accept(fatalError);
        }
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
            try (Attempt connections = new Attempt(dataSource)) {
                prepare(connections);
                MigrateResult result = flyway(connections).migrate();
                LOG.info("Schema {} at version {} ({} migration(s) applied)", schema,
                        result.targetSchemaVersion != null ? result.targetSchemaVersion : result.initialSchemaVersion,
                        result.migrationsExecuted);
                lastError = null;
                ready = true;
                migrated.complete(null);
                return;
            } catch (RuntimeException | SQLException e) {
                lastError = dataSource instanceof Database db ? db.explain(e) : Sql.oneLine(e);
                if (!Sql.isTransient(e)) {
                    fatalError = "schema migration failed, and retrying cannot fix it: " + lastError;
                    LOG.error("{}", fatalError);
                    onFatal.accept(fatalError);
                    return;
                }
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

    /**
     * Before Flyway: says once why a TimescaleDB the server has is not used, and brings an older
     * V1 checksum up to date.
     */
    private void prepare(DataSource connections) throws SQLException {
        try (Connection c = connections.getConnection(); Statement st = c.createStatement()) {
            boolean fresh;
            try (ResultSet rs = st.executeQuery("SELECT to_regclass('" + schema + ".flyway_schema_history') IS NULL")) {
                rs.next();
                fresh = rs.getBoolean(1);
            }
            if (fresh) {
                try (ResultSet rs = st.executeQuery("SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
                        + " AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
                        + " THEN current_setting('shared_preload_libraries') !~ '(^|[\\s,\"])timescaledb([\\s,\"]|$)' ELSE false END")) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        LOG.warn("TimescaleDB is installed in the server but not in shared_preload_libraries: schema {} uses"
                                + " plain partitioning (to use TimescaleDB, preload it, restart PostgreSQL, start with a new schema)",
                                schema);
                    }
                } catch (SQLException e) {
                    if (!"42501".equals(e.getSQLState())) {
                        throw e;
                    }
                    // not allowed to read shared_preload_libraries: V1 decides from what it may read
                }
            } else {
                st.executeUpdate("UPDATE " + schema + ".flyway_schema_history SET checksum = " + V1_CHECKSUM
                        + " WHERE version = '1' AND checksum IN (" + V1_CHECKSUMS_BEFORE.stream().map(String::valueOf)
                        .collect(java.util.stream.Collectors.joining(", ")) + ")");
            }
        }
    }

    private Flyway flyway(DataSource connections) {
        return Flyway.configure()
                .dataSource(connections)
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
    public CompletionStage<Void> whenMigrated() {
        return migrated;
    }

    public boolean isReady() {
        return ready;
    }

    public String lastError() {
        return lastError;
    }

    /** Why migrating stopped for good, or null. */
    public String fatalError() {
        return fatalError;
    }

    /**
     * The pool as one migration attempt sees it: every connection handed out is closed when the
     * attempt ends, whatever Flyway did with it (a session ended by a FATAL is not always closed).
     */
    static final class Attempt implements DataSource, AutoCloseable {
        private final DataSource pool;
        private final List<Connection> taken = new ArrayList<>();

        Attempt(DataSource pool) {
            this.pool = pool;
        }

        @Override
        public synchronized Connection getConnection() throws SQLException {
            Connection c = pool.getConnection();
            taken.add(c);
            return c;
        }

        @Override
        public synchronized Connection getConnection(String user, String password) throws SQLException {
            Connection c = pool.getConnection(user, password);
            taken.add(c);
            return c;
        }

        @Override
        public synchronized void close() {
            for (Connection c : taken) {
                try {
                    c.close();
                } catch (SQLException | RuntimeException e) {
                    LOG.debug("Closing a connection of a migration attempt: {}", e.getMessage());
                }
            }
            taken.clear();
        }

        @Override
        public PrintWriter getLogWriter() throws SQLException {
            return pool.getLogWriter();
        }

        @Override
        public void setLogWriter(PrintWriter out) throws SQLException {
            pool.setLogWriter(out);
        }

        @Override
        public void setLoginTimeout(int seconds) throws SQLException {
            pool.setLoginTimeout(seconds);
        }

        @Override
        public int getLoginTimeout() throws SQLException {
            return pool.getLoginTimeout();
        }

        @Override
        public java.util.logging.Logger getParentLogger() throws SQLFeatureNotSupportedException {
            return pool.getParentLogger();
        }

        @Override
        public <T> T unwrap(Class<T> type) throws SQLException {
            return pool.unwrap(type);
        }

        @Override
        public boolean isWrapperFor(Class<?> type) throws SQLException {
            return pool.isWrapperFor(type);
        }
    }
}
