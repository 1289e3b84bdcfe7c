package io.prom2pg.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;

/**
 * Makes sure the samples table has a partition for a time window before samples of that window
 * are inserted (plain PostgreSQL: one partition every {@link SampleChunk#WINDOW_MILLIS}, or the
 * whole day's partition an earlier release made; TimescaleDB makes its chunks itself, and the
 * samples table is the target). The partition of each window ensured is remembered.
 */
public class Partitions {

    private static final DateTimeFormatter WINDOW_NAME = DateTimeFormatter.ofPattern("yyyyMMdd_HHmm").withZone(ZoneOffset.UTC);

    private final Map<Long, String> tables = new ConcurrentHashMap<>();
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
        table(chunk.getWindow());
    }

    /** Ensures the partitions of the windows from now to {@code aheadMillis} after it. */
    public void ensureAhead(long aheadMillis) {
        long now = System.currentTimeMillis();
        for (long w = SampleChunk.windowOf(now); w <= SampleChunk.windowOf(now + aheadMillis); w++) {
            table(w);
        }
    }

    /** The qualified table a window's samples go into, its partition made when missing. */
    public String table(long window) {
        String table = tables.get(window);
        if (table != null) {
            return table;
        }
        Instant start = Instant.ofEpochMilli(window * SampleChunk.WINDOW_MILLIS);
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + schema + ".ensure_head_partition(?, ?::interval)")) {
            ps.setObject(1, start.atOffset(ZoneOffset.UTC));
            ps.setString(2, SampleChunk.WINDOW_MILLIS + " milliseconds");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                table = schema + "." + rs.getString(1);
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("creating the partition for " + start + " failed: " + Sql.oneLine(e), e);
        }
        tables.put(window, table);
        return table;
    }

    /** Whether {@code samples} is partitioned (plain PostgreSQL), not a TimescaleDB hypertable. */
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

    /** The days of {@code table}'s daily partitions ({@code sample_blocks}, or an earlier release's {@code samples}), oldest first. */
    public static List<LocalDate> days(Connection c, String schema, String table) throws SQLException {
        List<LocalDate> days = new ArrayList<>();
        for (String name : children(c, schema, table)) {
            if (name.matches(table + "_\\d{8}")) {
                days.add(LocalDate.parse(name.substring(table.length() + 1), DateTimeFormatter.BASIC_ISO_DATE));
            }
        }
        days.sort(null);
        return days;
    }

    /** One partition of the head: its qualified name and the time range [start, end) it holds, ms. */
    public record HeadPartition(String table, long start, long end) {
    }

    /** The head's partitions (windows, and days an earlier release made), oldest first. */
    public static List<HeadPartition> head(Connection c, String schema) throws SQLException {
        List<HeadPartition> head = new ArrayList<>();
        for (String name : children(c, schema, "samples")) {
            if (name.matches("samples_\\d{8}")) {
                long start = LocalDate.parse(name.substring(8), DateTimeFormatter.BASIC_ISO_DATE)
                        .atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
                head.add(new HeadPartition(schema + "." + name, start, start + 86_400_000L));
            } else if (name.matches("samples_\\d{8}_\\d{4}")) {
                long start = Instant.from(WINDOW_NAME.parse(name.substring(8))).toEpochMilli();
                head.add(new HeadPartition(schema + "." + name, start, start + SampleChunk.WINDOW_MILLIS));
            }
        }
        head.sort(java.util.Comparator.comparingLong(HeadPartition::start));
        return head;
    }

    private static List<String> children(Connection c, String schema, String table) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                     + " WHERE i.inhparent = '" + schema + "." + table + "'::regclass")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    /** Forgets what was ensured, e.g. after partitions were dropped by retention. */
    public void forget() {
        tables.clear();
    }

    /** Forgets one window, e.g. after its partition was sealed and dropped, here or by another instance. */
    public void forget(long window) {
        tables.remove(window);
    }
}
