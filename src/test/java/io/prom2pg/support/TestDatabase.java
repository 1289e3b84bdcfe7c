package io.prom2pg.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

import io.prom2pg.store.EmbeddedPostgresServer;

/**
 * A real PostgreSQL for tests: by default the same embedded server prom2pg runs by default, or,
 * with {@code PROM2PG_TEST_DB_URL} (e.g. {@code jdbc:postgresql://localhost:5432/postgres}, user
 * {@code postgres} trusted on that host), another server such as Debian's or one with TimescaleDB.
 * One server is shared by the whole test run; each test class gets its own schema.
 */
public final class TestDatabase {

    /** The variable that points the suite at another PostgreSQL than the embedded one. */
    public static final String URL_VARIABLE = "PROM2PG_TEST_DB_URL";

    /** Where the shared server is. */
    public record Server(String jdbcUrl, int port, boolean embedded) {
    }

    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    private static Server shared;
    private static EmbeddedPostgresServer embedded;
    private static Boolean timescaleDb;

    private TestDatabase() {
    }

    public static synchronized Server shared() {
        if (shared == null) {
            String external = System.getenv(URL_VARIABLE);
            if (external != null && !external.isBlank()) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("jdbc:postgresql://[^:/]+:(\\d+)/.*").matcher(external);
                if (!m.matches()) {
                    throw new IllegalArgumentException(URL_VARIABLE + " must be jdbc:postgresql://host:port/database, not " + external);
                }
                shared = new Server(external, Integer.parseInt(m.group(1)), false);
                return shared;
            }
            try {
                Path dir = Files.createTempDirectory("prom2pg-test-pg");
                embedded = EmbeddedPostgresServer.start(dir, Ports.free());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    embedded.close();
                } catch (IOException ignored) {
                    // the JVM is exiting
                }
            }));
            shared = new Server(embedded.jdbcUrl(), embedded.port(), true);
        }
        return shared;
    }

    /**
     * Whether the shared server has a preloaded TimescaleDB, so that prom2pg makes the samples a
     * hypertable (no day partitions, nothing sealed) in the schemas of this run.
     */
    public static synchronized boolean timescaleDb() {
        if (timescaleDb == null) {
            try {
                String url = shared().jdbcUrl();
                timescaleDb = queryLong(url, "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'") == 1
                        && queryString(url, "SELECT current_setting('shared_preload_libraries')").contains("timescaledb");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }
        return timescaleDb;
    }

    /** Skips a test of the plain layout (day partitions, the sealed tier) on a TimescaleDB server. */
    public static void assumeDayPartitions() {
        org.junit.jupiter.api.Assumptions.assumeFalse(timescaleDb(),
                "a test of day partitions and the sealed tier: on TimescaleDB the samples are a hypertable");
    }

    /** A schema name no other test uses. */
    public static String newSchema(String prefix) {
        return prefix.toLowerCase() + "_" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet();
    }

    public static Connection connect(String jdbcUrl) throws SQLException {
        return DriverManager.getConnection(jdbcUrl, "postgres", "");
    }

    public static long queryLong(String jdbcUrl, String sql) throws SQLException {
        try (Connection c = connect(jdbcUrl); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    public static String queryString(String jdbcUrl, String sql) throws SQLException {
        try (Connection c = connect(jdbcUrl); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The first column of every row, as strings. */
    public static java.util.List<String> queryStrings(String jdbcUrl, String sql) throws SQLException {
        java.util.List<String> rows = new java.util.ArrayList<>();
        try (Connection c = connect(jdbcUrl); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        return rows;
    }

    /** The metric metadata stored in a schema, as {@code family -> "type|help|unit"}. */
    public static java.util.Map<String, String> storedMetadata(String jdbcUrl, String schema) throws SQLException {
        java.util.Map<String, String> stored = new java.util.TreeMap<>();
        try (Connection c = connect(jdbcUrl); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT metric_family_name, type, help, unit FROM " + schema + ".metric_metadata")) {
            while (rs.next()) {
                stored.put(rs.getString(1), rs.getString(2) + "|" + rs.getString(3) + "|" + rs.getString(4));
            }
        }
        return stored;
    }
}
