package io.prom2pg.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;

/**
 * Makes sure the samples table has a partition for a time window before samples of that window
 * are inserted (plain PostgreSQL: one partition a UTC day; TimescaleDB creates its chunks
 * itself and the SQL function returns at once). Windows already ensured are remembered.
 */
public class Partitions {

    private final Set<Long> ensured = ConcurrentHashMap.newKeySet();
    private DataSource dataSource;
    private String schema = "prom2pg";

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /** Ensures the partition of this chunk's window exists. */
    public void ensure(SampleChunk chunk) {
        ensureWindow(chunk.getWindow());
    }

    /** Ensures partitions for the windows from {@code daysBehind} before today to {@code daysAhead} after it. */
    public void ensureAround(int daysBehind, int daysAhead) {
        long today = LocalDate.now(java.time.ZoneOffset.UTC).toEpochDay();
        for (long day = today - daysBehind; day <= today + daysAhead; day++) {
            ensureWindow(day);
        }
    }

    void ensureWindow(long day) {
        if (ensured.contains(day)) {
            return;
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + schema + ".ensure_partition(?)")) {
            ps.setObject(1, LocalDate.ofEpochDay(day));
            ps.execute();
        } catch (SQLException e) {
            throw new StorageUnavailableException("creating the partition for " + LocalDate.ofEpochDay(day)
                    + " failed: " + Sql.oneLine(e), e);
        }
        ensured.add(day);
    }

    /** Whether {@code samples} is partitioned by day (plain PostgreSQL), not a TimescaleDB hypertable. */
    public static boolean samplesPartitioned(Connection c, String schema) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT relkind = 'p' FROM pg_class WHERE oid = '" + schema + ".samples'::regclass")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** The qualified name of {@code table}'s partition of one UTC day: {@code schema.table_YYYYMMDD}. */
    public static String partition(String schema, String table, LocalDate day) {
        return schema + "." + table + "_" + day.format(DateTimeFormatter.BASIC_ISO_DATE);
    }

    /** The days of {@code table}'s daily partitions ({@code samples} or {@code sample_blocks}), oldest first. */
    public static List<LocalDate> days(Connection c, String schema, String table) throws SQLException {
        List<LocalDate> days = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                     + " WHERE i.inhparent = '" + schema + "." + table + "'::regclass")) {
            while (rs.next()) {
                String name = rs.getString(1);
                if (name.matches(table + "_\\d{8}")) {
                    days.add(LocalDate.parse(name.substring(table.length() + 1), DateTimeFormatter.BASIC_ISO_DATE));
                }
            }
        }
        days.sort(null);
        return days;
    }

    /** Forgets what was ensured, e.g. after partitions were dropped by retention. */
    public void forget() {
        ensured.clear();
    }

    /** Forgets one window, e.g. after its partition was sealed and dropped, here or by another instance. */
    public void forget(long day) {
        ensured.remove(day);
    }
}
