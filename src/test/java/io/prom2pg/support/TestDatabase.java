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
 * A real PostgreSQL for tests (the same embedded server prom2pg runs by default). One server is
 * shared by the whole test run; each test class gets its own schema.
 */
public final class TestDatabase {

    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    private static EmbeddedPostgresServer shared;

    private TestDatabase() {
    }

    public static synchronized EmbeddedPostgresServer shared() {
        if (shared == null) {
            try {
                Path dir = Files.createTempDirectory("prom2pg-test-pg");
                shared = EmbeddedPostgresServer.start(dir, Ports.free());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    shared.close();
                } catch (IOException ignored) {
                    // the JVM is exiting
                }
            }));
        }
        return shared;
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
