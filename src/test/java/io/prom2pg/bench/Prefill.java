package io.prom2pg.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;

import io.prom2pg.store.SampleChunk;

/**
 * Fills the partitions before the benchmark's first pass with earlier hours of samples of every
 * stored series, as if prom2pg had been ingesting them since then, so that the steady phase
 * measures writing into a head that already holds that much ({@code PREFILL_METHOD=sql}; the
 * prefill by remote write sends those rounds through the receiver instead, see {@link Bench}). The rows are inserted series by series
 * in time order (the index is built by appending; a partition filled by real ingest has less
 * densely packed index pages), then checkpointed.
 */
final class Prefill {

    private static final int SERIES_PER_STATEMENT = 5_000;

    private Prefill() {
    }

    /** Fails before anything runs if the prefill would reach into the day before (another partition). */
    static void check(long beforeMillis, double hours) {
        long fromMillis = beforeMillis - (long) (hours * 3_600_000);
        if (!Instant.ofEpochMilli(fromMillis).atZone(ZoneOffset.UTC).toLocalDate()
                .equals(Instant.ofEpochMilli(beforeMillis).atZone(ZoneOffset.UTC).toLocalDate())) {
            throw new IllegalArgumentException("a prefill of " + hours + " h before " + Instant.ofEpochMilli(beforeMillis)
                    + " would reach into the day before; run later in the day (UTC) or prefill less");
        }
    }

    /** Samples every {@code intervalMillis} for {@code hours} before {@code beforeMillis}; returns a line for the report. */
    static String run(String jdbcUrl, String schema, long beforeMillis, double hours, long intervalMillis) throws Exception {
        check(beforeMillis, hours);
        long fromMillis = beforeMillis - (long) (hours * 3_600_000);
        long t0 = System.nanoTime();
        long rows = 0;
        try (Connection c = DriverManager.getConnection(jdbcUrl, "postgres", "")) {
            long maxId;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT max(id) FROM " + schema + ".series")) {
                rs.next();
                maxId = rs.getLong(1);
            }
            // the head's partitions of the prefilled windows (prom2pg makes them on demand as it writes)
            try (PreparedStatement ps = c.prepareStatement("SELECT " + schema + ".ensure_head_partition(to_timestamp(? / 1000.0), ?::interval)")) {
                for (long w = Math.floorDiv(fromMillis, SampleChunk.WINDOW_MILLIS); w * SampleChunk.WINDOW_MILLIS < beforeMillis; w++) {
                    ps.setLong(1, w * SampleChunk.WINDOW_MILLIS);
                    ps.setString(2, SampleChunk.WINDOW_MILLIS + " milliseconds");
                    ps.execute();
                }
            }
            String insert = "INSERT INTO " + schema + ".samples (time, series_id, value)"
                    + " SELECT to_timestamp(CAST(t AS float8) / 1000), s.id, s.id FROM"
                    + " (SELECT id FROM " + schema + ".series WHERE id > ? AND id <= ? ORDER BY id) s"
                    + " CROSS JOIN LATERAL generate_series(CAST(? AS int8), CAST(? AS int8), CAST(? AS int8)) t";
            try (PreparedStatement ps = c.prepareStatement(insert)) {
                for (long id = 0; id < maxId; id += SERIES_PER_STATEMENT) {
                    ps.setLong(1, id);
                    ps.setLong(2, id + SERIES_PER_STATEMENT);
                    ps.setLong(3, fromMillis);
                    ps.setLong(4, beforeMillis - intervalMillis);
                    ps.setLong(5, intervalMillis);
                    rows += ps.executeUpdate();
                }
            }
            try (Statement st = c.createStatement()) {
                st.execute("CHECKPOINT");
            }
            return String.format("prefill: %,d samples (%.1f h of every series before the steady phase) in %.0f s; %s",
                    rows, hours, (System.nanoTime() - t0) / 1e9, sizes(c, schema));
        }
    }

    /** The head's partitions on disk, and their indexes: "partitions 1.2 GB, their indexes 800 MB". */
    static String sizes(Connection c, String schema) throws Exception {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_size_pretty(sum(pg_relation_size(c.oid)) FILTER (WHERE c.relkind = 'r')),"
                     + " pg_size_pretty(sum(pg_relation_size(c.oid)) FILTER (WHERE c.relkind = 'i'))"
                     + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                     + " WHERE n.nspname = '" + schema + "' AND c.relname LIKE 'samples\\_%'")) {
            rs.next();
            return "partitions " + rs.getString(1) + ", their indexes " + rs.getString(2);
        }
    }
}
