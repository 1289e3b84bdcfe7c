package io.prom2pg.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seals the head: the partitions of {@code samples} of each {@link #BLOCK_MILLIS} window (UTC)
 * that ended more than {@code sealAfterMillis} ago are packed into {@code sample_blocks}, one row
 * per series and window (encoded by the schema's {@code block_encode}: times as a grid and
 * offsets, values as integers of a decimal scale where they are exactly that, else as they are),
 * and dropped, in one transaction, so that a crash at any moment leaves either the rows or the
 * blocks, never both and never neither. A window sealed before (samples that arrived late) is
 * merged into its blocks, a time already sealed keeping its first value, as the head's
 * {@code ON CONFLICT DO NOTHING} does. A day partition of an earlier release is sealed whole once
 * its day is due, into the same 4-hour blocks. Several prom2pg instances on one database take
 * turns: one seals while it holds the advisory lock, the others skip the run.
 *
 * <p>While a window is sealed, writes into it wait (its partitions are locked); dropping them
 * waits at most a second for readers of {@code samples} (a longer report makes the run try again
 * later rather than hold up ingest behind its lock). On TimescaleDB (a hypertable, no partitions
 * of prom2pg's) the sealed tier is TimescaleDB's compression of the old chunks.
 */
public class Sealer {

    /**
     * 4 hours: a block of a series scraped every 60 s (240 samples) is past TOAST's 2 KB
     * compression threshold, and the head still holds only hours (V12__head_windows.sql).
     */
    public static final long BLOCK_MILLIS = 4 * 3_600_000L;

    /** The head is sealed by the hour while its 4-hour window is open (V14__hour_blocks.sql). */
    static final long HOUR_MILLIS = 3_600_000L;

    private static final Logger LOG = LoggerFactory.getLogger(Sealer.class);

    private DataSource dataSource;
    private String schema = "prom2pg";
    private long sealAfterMillis = 30 * 60_000L;
    private Partitions partitions;
    private final Set<Long> sealedWindows = ConcurrentHashMap.newKeySet();
    private final Map<Long, Long> unsealedChecked = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicBoolean apacheLogged = new java.util.concurrent.atomic.AtomicBoolean();

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /** How long after its hour ended an hour's samples stay in the head (rows) before they are sealed. */
    public void setSealAfterMillis(long sealAfterMillis) {
        this.sealAfterMillis = sealAfterMillis;
    }

    /** Told to forget the partitions it dropped. */
    public void setPartitions(Partitions partitions) {
        this.partitions = partitions;
    }

    /**
     * Whether samples of this head window ({@link SampleChunk#getWindow()}) may be sealed already,
     * so a write must check the blocks: its hour has ended and {@code sealed_windows}
     * holds it (any instance may have sealed it, whatever its clock or settings say). Windows
     * known sealed are remembered; the answer for one not sealed is kept a minute.
     */
    public boolean mayBeSealed(long window) {
        long start = window * SampleChunk.WINDOW_MILLIS;
        if (Math.floorDiv(start, HOUR_MILLIS) * HOUR_MILLIS + HOUR_MILLIS > Instant.now().toEpochMilli()) {
            return false; // its hour has not ended: never sealed
        }
        if (sealedWindows.contains(window)) {
            return true;
        }
        Long checked = unsealedChecked.get(window);
        if (checked != null && System.nanoTime() - checked < 60_000_000_000L) {
            return false;
        }
        boolean sealed;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT EXISTS (SELECT 1 FROM " + schema + ".sealed_windows WHERE start <= ? AND \"end\" > ?)")) {
            java.time.OffsetDateTime t = Instant.ofEpochMilli(start).atOffset(ZoneOffset.UTC);
            ps.setObject(1, t);
            ps.setObject(2, t);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                sealed = rs.getBoolean(1);
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("checking whether " + Instant.ofEpochMilli(start) + " is sealed failed: "
                    + Sql.oneLine(e), e);
        }
        if (sealed) {
            sealedWindows.add(window);
            unsealedChecked.remove(window);
        } else {
            unsealedChecked.put(window, System.nanoTime());
        }
        return sealed;
    }

    /** Asks the database again next time (a write met a partition another instance sealed). */
    public void recheck(long window) {
        unsealedChecked.remove(window);
    }

    /** Seals every window due as of now, oldest first. */
    public SealRun run() {
        return runAt(Instant.now());
    }

    SealRun runAt(Instant now) {
        try (Connection c = dataSource.getConnection()) {
            if (!tryLock(c)) {
                LOG.debug("Sealing: another prom2pg instance is sealing");
                return SealRun.NONE;
            }
            try {
                if (!Partitions.samplesPartitioned(c, schema)) {
                    return compressChunks(c, now);
                }
                int windows = 0;
                long samples = 0;
                for (Window w : due(c, now)) {
                    long sealed = seal(c, w);
                    if (sealed >= 0) {
                        windows++;
                        samples += sealed;
                    }
                }
                for (long start : toCompact(c, now)) {
                    compact(c, start);
                }
                return new SealRun(windows, samples);
            } finally {
                unlock(c);
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("sealing failed: " + Sql.oneLine(e), e);
        }
    }

    /**
     * The head partitions of one window [start, end) to seal together: a {@link #BLOCK_MILLIS}
     * window, the day of an earlier release's day partition, or, {@code hourly}, one hour of a
     * window, whose blocks are keyed by that hour until the window is compacted.
     */
    record Window(long start, long end, List<Partitions.HeadPartition> partitions, boolean hourly) {
        LocalDate day() {
            return Instant.ofEpochMilli(start).atZone(ZoneOffset.UTC).toLocalDate();
        }

        /** The UTC hours [from, to) of the day the window's blocks start at. */
        int fromHour() {
            return hourOfDay(start);
        }

        int toHour() {
            return fromHour() + (int) ((end - start) / HOUR_MILLIS);
        }

        @Override
        public String toString() {
            return Instant.ofEpochMilli(start) + " to " + Instant.ofEpochMilli(end);
        }
    }

    /** Seals one window: its head rows into blocks, then its partitions dropped; the rows sealed, -1 when a lock was not had in time. */
    private long seal(Connection c, Window w) throws SQLException {
        LocalDate day = w.day();
        long t0 = System.nanoTime();
        // made on its own: creating a partition locks all of sample_blocks, which readers need;
        // and the window is marked sealed before it is, so that writes into it from now on check
        // its blocks (they wait for the seal, then find their partition gone and write again)
        try (PreparedStatement ps = c.prepareStatement("SELECT " + schema + ".ensure_block_partition(?)");
             PreparedStatement mark = c.prepareStatement("INSERT INTO " + schema + ".sealed_windows AS w (start, \"end\") VALUES (?, ?)"
                     + " ON CONFLICT (start) DO UPDATE SET \"end\" = greatest(w.\"end\", excluded.\"end\")")) {
            ps.setObject(1, day);
            ps.execute();
            mark.setObject(1, Instant.ofEpochMilli(w.start()).atOffset(ZoneOffset.UTC));
            mark.setObject(2, Instant.ofEpochMilli(w.end()).atOffset(ZoneOffset.UTC));
            mark.execute();
        }
        List<String> parts = w.partitions().stream().map(Partitions.HeadPartition::table).toList();
        StringBuilder rows = new StringBuilder();
        for (Partitions.HeadPartition p : w.partitions()) {
            // ms as a float8 of seconds times 1000, exact for the head's ms times (extract() is a
            // numeric since PostgreSQL 14: 21% slower on a 4-hour window of 24M samples)
            rows.append(rows.isEmpty() ? "" : " UNION ALL ")
                    .append("SELECT series_id, (date_part('epoch', time) * 1000)::bigint AS t, value, ")
                    .append(w.hourly() ? Integer.toString(hourOfDay(p.start())) : blockHour(p))
                    .append("::smallint AS hour FROM ").append(p.table());
        }
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            // writes into the window wait; reads go on. Writes in flight are waited for 2 s at most.
            st.execute("SET LOCAL lock_timeout = '2s'");
            st.execute("LOCK TABLE " + String.join(", ", parts) + " IN EXCLUSIVE MODE");
            // what the blocks of the window hold before: the samples sealed are what they gain (a
            // late row whose time is already sealed adds nothing)
            long before = sealedSamples(c, w);
            int blocks;
            String columns = "(first_time, last_time, count, time_step, time_offsets, value_scale, value_ints, vals)";
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + ".sample_blocks AS b (day, hour, series_id, "
                    + columns.substring(1)
                    + " SELECT ?, h.hour, h.series_id, e.* FROM (SELECT series_id, hour, array_agg(t ORDER BY t) AS ts, array_agg(value ORDER BY t) AS vs"
                    + "   FROM (" + rows + ") r"
                    + "   GROUP BY series_id, hour) h"
                    + " CROSS JOIN LATERAL " + schema + ".block_encode(h.ts, h.vs) e"
                    // a window sealed before: the union of both, a time already sealed keeping its value
                    + " ON CONFLICT (series_id, day, hour) DO UPDATE SET " + columns + " ="
                    + " (SELECT e.* FROM (SELECT array_agg(m.t ORDER BY m.t) AS ts, array_agg(m.v ORDER BY m.t) AS vs"
                    + "   FROM (SELECT DISTINCT ON (x.t) x.t, x.v FROM ("
                    + "     SELECT o.t, o.v, 0 AS k FROM " + blockSamples(schema, "b") + " o"
                    + "     UNION ALL SELECT n.t, n.v, 1 FROM " + blockSamples(schema, "excluded") + " n) x"
                    + "    ORDER BY x.t, x.k) m) a"
                    + "  CROSS JOIN LATERAL " + schema + ".block_encode(a.ts, a.vs) e)")) {
                ps.setObject(1, day);
                blocks = ps.executeUpdate();
            }
            long samples = sealedSamples(c, w) - before;
            // the head's copy goes as whole partitions (no DELETE, no bloat); readers of samples
            // are waited for a second at most
            st.execute("SET LOCAL lock_timeout = '1s'");
            st.execute("DROP TABLE " + String.join(", ", parts));
            c.commit();
            for (long k = Math.floorDiv(w.start(), SampleChunk.WINDOW_MILLIS); k * SampleChunk.WINDOW_MILLIS < w.end(); k++) {
                sealedWindows.add(k);
                if (partitions != null) {
                    partitions.forget(k);
                }
            }
            if (blocks == 0) {
                // a partition a write made again for a window already sealed, and left empty
                LOG.info("Dropped {} empty head partition(s) of {}", parts.size(), w);
            } else {
                LOG.info("Sealed {}: {} samples in {} blocks in {} ms", w, samples, blocks, (System.nanoTime() - t0) / 1_000_000);
            }
            return samples;
        } catch (SQLException e) {
            c.rollback();
            // a deadlock with a late write into the window: the write holds samples and waits for
            // the window's partition; the DROP waits for samples
            if (waitsForOthers(e)) {
                LOG.info("Sealing {} waits for a reader or writer of the samples; next run tries again", w);
                return -1;
            }
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    /**
     * On TimescaleDB the sealed tier is its own compression (measured on the same 5.76M samples:
     * 6.4 bytes a sample, against 4.2 as prom2pg's blocks, and a full scan 5x faster): chunks whose
     * whole range is older than sealAfterMillis are compressed, segmented by series and ordered
     * by time, each in its own transaction. Late and retried writes go into compressed chunks as
     * into the others (TimescaleDB 2.11+ keeps the unique index over both).
     */
    private SealRun compressChunks(Connection c, Instant now) throws SQLException {
        String ts = TimescaleDb.schema(c);
        if (!TimescaleDb.compresses(c)) {
            if (apacheLogged.compareAndSet(false, true)) {
                LOG.warn("TimescaleDB's Apache-licensed edition has no compression: schema {} keeps every day as rows", schema);
            }
            return SealRun.NONE;
        }
        try (Statement st = c.createStatement()) {
            boolean enabled;
            try (ResultSet rs = st.executeQuery("SELECT compression_enabled FROM timescaledb_information.hypertables"
                    + " WHERE hypertable_schema = '" + schema + "' AND hypertable_name = 'samples'")) {
                enabled = rs.next() && rs.getBoolean(1);
            }
            if (!enabled) {
                st.execute("ALTER TABLE " + schema + ".samples SET (timescaledb.compress,"
                        + " timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'time')");
            }
        }
        List<String> due = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT format('%I.%I', chunk_schema, chunk_name)"
                + " FROM timescaledb_information.chunks WHERE hypertable_schema = ? AND hypertable_name = 'samples'"
                + " AND NOT is_compressed AND range_end <= ? ORDER BY range_start")) {
            ps.setString(1, schema);
            ps.setObject(2, now.minusMillis(sealAfterMillis).atOffset(ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    due.add(rs.getString(1));
                }
            }
        }
        int chunks = 0;
        long samples = 0;
        for (String chunk : due) {
            long t0 = System.nanoTime();
            long rows;
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                // writers and readers of the chunk are waited for 2 s at most; the next run tries again
                st.execute("SET LOCAL lock_timeout = '2s'");
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + chunk)) {
                    rs.next();
                    rows = rs.getLong(1);
                }
                st.execute("SELECT " + ts + ".compress_chunk('" + chunk + "'::regclass, if_not_compressed => true)");
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                if (waitsForOthers(e)) {
                    LOG.info("Sealing chunk {} waits for a reader or writer; next run tries again", chunk);
                    continue;
                }
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
            chunks++;
            samples += rows;
            LOG.info("Sealed chunk {} (TimescaleDB compression): {} samples in {} ms", chunk, rows, (System.nanoTime() - t0) / 1_000_000);
        }
        return new SealRun(chunks, samples);
    }

    /** lock_not_available or deadlock_detected: a reader or writer holds what a seal needs; the next run tries again. */
    private static boolean waitsForOthers(SQLException e) {
        return "55P03".equals(e.getSQLState()) || "40P01".equals(e.getSQLState());
    }

    /** The samples (t, v) of the block {@code alias}, decoded by the schema's one definition. */
    static String blockSamples(String schema, String alias) {
        return schema + ".block_samples(" + alias + ".first_time, " + alias + ".time_step, " + alias + ".time_offsets, "
                + alias + ".value_scale, " + alias + ".value_ints, " + alias + ".vals)";
    }

    private long sealedSamples(Connection c, Window w) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(sum(count), 0) FROM " + schema + ".sample_blocks"
                + " WHERE day = ? AND hour >= ? AND hour < ?")) {
            ps.setObject(1, w.day());
            ps.setInt(2, w.fromHour());
            ps.setInt(3, w.toHour());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * The end of the window a head partition is sealed with: its {@link #BLOCK_MILLIS} window's,
     * or, for an earlier release's day partition (sealed whole), its day's.
     */
    private static long windowEnd(Partitions.HeadPartition p) {
        return p.end() - p.start() > BLOCK_MILLIS ? p.end() : blockEnd(p.start());
    }

    /**
     * When a head partition's samples are sealed, sealAfterMillis later: the end of its hour, or,
     * for an earlier release's day partition (sealed whole), of its day.
     */
    public static long sealableFrom(Partitions.HeadPartition p) {
        return p.end() - p.start() > BLOCK_MILLIS ? p.end() : Math.floorDiv(p.start(), HOUR_MILLIS) * HOUR_MILLIS + HOUR_MILLIS;
    }

    /**
     * The UTC hour its samples' blocks start at, as SQL: a constant for a window's partition (it
     * lies in one block), computed for each row of an earlier release's day partition.
     */
    private static String blockHour(Partitions.HeadPartition p) {
        if (p.end() <= blockEnd(p.start())) {
            return Integer.toString(windowHour(p.start()));
        }
        long hours = BLOCK_MILLIS / HOUR_MILLIS;
        return "(date_part('hour', time AT TIME ZONE 'UTC')::int / " + hours + " * " + hours + ")";
    }

    /** The UTC hour of the day that holds {@code millis}. */
    static int hourOfDay(long millis) {
        return (int) (Math.floorMod(millis, 86_400_000L) / HOUR_MILLIS);
    }

    /** The UTC hour of the day the {@link #BLOCK_MILLIS} window that holds {@code millis} starts at. */
    static int windowHour(long millis) {
        int hours = (int) (BLOCK_MILLIS / HOUR_MILLIS);
        return hourOfDay(millis) / hours * hours;
    }

    /** The end of the {@link #BLOCK_MILLIS} window (UTC) that holds the time {@code millis}. */
    private static long blockEnd(long millis) {
        return Math.floorDiv(millis, BLOCK_MILLIS) * BLOCK_MILLIS + BLOCK_MILLIS;
    }

    /**
     * What is due as of now, oldest first: each window that ended more than sealAfterMillis ago,
     * whole (its blocks keyed by its start), and each hour that did so of a window that has not,
     * or of one sealed by the hour before (its hours are compacted once all are sealed). An
     * earlier release's day partition, or a window of a day whose block partition an earlier
     * release made (one table, not one a window), is sealed by whole windows only.
     */
    private List<Window> due(Connection c, Instant now) throws SQLException {
        long cutoff = now.toEpochMilli() - sealAfterMillis;
        Map<Long, List<Partitions.HeadPartition>> byStart = new java.util.TreeMap<>();
        for (Partitions.HeadPartition p : Partitions.head(c, schema)) {
            byStart.computeIfAbsent(Math.min(p.start(), windowEnd(p) - BLOCK_MILLIS), k -> new ArrayList<>()).add(p);
        }
        Set<Long> byTheHour = new java.util.HashSet<>();
        for (long hour : sealedHours(c)) {
            byTheHour.add(Math.floorDiv(hour, BLOCK_MILLIS) * BLOCK_MILLIS);
        }
        List<Window> due = new ArrayList<>();
        for (Map.Entry<Long, List<Partitions.HeadPartition>> e : byStart.entrySet()) {
            long start = e.getKey();
            List<Partitions.HeadPartition> parts = e.getValue();
            long end = parts.stream().mapToLong(Sealer::windowEnd).max().orElseThrow();
            boolean whole = end - start > BLOCK_MILLIS || !windowedDay(c, start);
            if (end <= cutoff && (whole || !byTheHour.contains(start))) {
                due.add(new Window(start, end, parts, false));
            } else if (!whole) {
                Map<Long, List<Partitions.HeadPartition>> hours = new java.util.TreeMap<>();
                for (Partitions.HeadPartition p : parts) {
                    hours.computeIfAbsent(Math.floorDiv(p.start(), HOUR_MILLIS) * HOUR_MILLIS, k -> new ArrayList<>()).add(p);
                }
                hours.forEach((hour, inHour) -> {
                    if (hour + HOUR_MILLIS <= cutoff) {
                        due.add(new Window(hour, hour + HOUR_MILLIS, inHour, true));
                    }
                });
            }
        }
        return due;
    }

    /** The starts of the hours {@code sealed_windows} holds as sealed by the hour (their window not compacted yet). */
    private List<Long> sealedHours(Connection c) throws SQLException {
        List<Long> hours = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT start FROM " + schema
                + ".sealed_windows WHERE \"end\" - start = interval '1 hour' ORDER BY start")) {
            while (rs.next()) {
                hours.add(rs.getObject(1, java.time.OffsetDateTime.class).toInstant().toEpochMilli());
            }
        }
        return hours;
    }

    /** Whether the blocks of the window that starts at {@code start} have a partition of their own (or will have: the day has no block partition yet). */
    private boolean windowedDay(Connection c, long start) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(?)")) {
            ps.setString(1, Partitions.partition(schema, "sample_blocks", dayOf(start)));
            try (ResultSet rs = ps.executeQuery()) {
                return !rs.next() || "p".equals(rs.getString(1));
            }
        }
    }

    /** The windows sealed by the hour that have ended more than sealAfterMillis ago and have no hour left in the head. */
    private List<Long> toCompact(Connection c, Instant now) throws SQLException {
        long cutoff = now.toEpochMilli() - sealAfterMillis;
        List<Partitions.HeadPartition> head = Partitions.head(c, schema);
        java.util.TreeSet<Long> windows = new java.util.TreeSet<>();
        for (long hour : sealedHours(c)) {
            long start = Math.floorDiv(hour, BLOCK_MILLIS) * BLOCK_MILLIS;
            if (start + BLOCK_MILLIS <= cutoff
                    && head.stream().noneMatch(p -> p.start() < start + BLOCK_MILLIS && p.end() > start)) {
                windows.add(start);
            }
        }
        return new ArrayList<>(windows);
    }

    /**
     * Compacts the hour blocks of the window that starts at {@code start} into one block per
     * series: the window's table is built anew beside it (the blocks' samples decoded and encoded
     * again), then, in one transaction, the old one dropped and the new one attached in its place,
     * so no dead rows are left and a crash leaves one or the other. Returns false when a reader
     * held the window's table past the lock timeout (the next run tries again).
     */
    private boolean compact(Connection c, long start) throws SQLException {
        long t0 = System.nanoTime();
        LocalDate day = dayOf(start);
        int hour = hourOfDay(start);
        String dayTable = Partitions.partition(schema, "sample_blocks", day);
        String name = dayTable.substring(schema.length() + 1) + String.format("_%02d", hour);
        String next = name + "_next";
        long samples;
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS " + schema + "." + next);
            try (PreparedStatement ps = c.prepareStatement("SELECT " + schema + ".create_block_window(?, ?, ?)")) {
                ps.setString(1, next);
                ps.setObject(2, day);
                ps.setInt(3, hour);
                ps.execute();
            }
            // the blocks in series order (an index scan of a few rows a series), so the samples
            // are grouped as they are decoded, without sorting them all
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + "." + next + " (day, hour, series_id,"
                    + " first_time, last_time, count, time_step, time_offsets, value_scale, value_ints, vals)"
                    + " SELECT ?, ?, g.series_id, e.* FROM (SELECT b.series_id, array_agg(x.t ORDER BY x.t) AS ts,"
                    + "   array_agg(x.v ORDER BY x.t) AS vs"
                    + "   FROM (SELECT * FROM " + schema + "." + name + " ORDER BY series_id, hour) b"
                    + "   CROSS JOIN LATERAL " + blockSamples(schema, "b") + " x GROUP BY b.series_id) g"
                    + " CROSS JOIN LATERAL " + schema + ".block_encode(g.ts, g.vs) e")) {
                ps.setObject(1, day);
                ps.setInt(2, hour);
                ps.executeUpdate();
            }
            st.execute("ALTER TABLE " + schema + "." + next + " ADD CONSTRAINT " + next + "_pkey PRIMARY KEY (series_id, day, hour)");
            try (ResultSet rs = st.executeQuery("SELECT (SELECT coalesce(sum(count), 0) FROM " + schema + "." + name + "),"
                    + " (SELECT coalesce(sum(count), 0) FROM " + schema + "." + next + ")")) {
                rs.next();
                samples = rs.getLong(1);
                if (rs.getLong(2) != samples) {
                    throw new IllegalStateException("compacting " + name + " gave " + rs.getLong(2) + " samples of " + samples);
                }
            }
            // readers of the blocks are waited for a second at most
            st.execute("SET LOCAL lock_timeout = '1s'");
            st.execute("DROP TABLE " + schema + "." + name);
            st.execute("ALTER TABLE " + schema + "." + next + " RENAME TO " + name);
            st.execute("ALTER INDEX " + schema + "." + next + "_pkey RENAME TO " + name + "_pkey");
            st.execute("ALTER TABLE " + dayTable + " ATTACH PARTITION " + schema + "." + name
                    + " FOR VALUES FROM (" + hour + ") TO (" + (hour + BLOCK_MILLIS / HOUR_MILLIS) + ")");
            // the window is sealed whole from now on: a late sample merges into its block
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + ".sealed_windows AS w (start, \"end\")"
                    + " VALUES (?, ?) ON CONFLICT (start) DO UPDATE SET \"end\" = greatest(w.\"end\", excluded.\"end\")");
                 PreparedStatement hours = c.prepareStatement("DELETE FROM " + schema + ".sealed_windows"
                         + " WHERE start > ? AND start < ? AND \"end\" - start = interval '1 hour'")) {
                java.time.OffsetDateTime from = Instant.ofEpochMilli(start).atOffset(ZoneOffset.UTC);
                java.time.OffsetDateTime to = Instant.ofEpochMilli(start + BLOCK_MILLIS).atOffset(ZoneOffset.UTC);
                ps.setObject(1, from);
                ps.setObject(2, to);
                ps.execute();
                hours.setObject(1, from);
                hours.setObject(2, to);
                hours.execute();
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            if (waitsForOthers(e)) {
                LOG.info("Compacting the window from {} waits for a reader of the blocks; next run tries again", Instant.ofEpochMilli(start));
                return false;
            }
            throw e;
        } catch (RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
        LOG.info("Compacted {} to {}: {} samples in one block a series, in {} ms", Instant.ofEpochMilli(start),
                Instant.ofEpochMilli(start + BLOCK_MILLIS), samples, (System.nanoTime() - t0) / 1_000_000);
        return true;
    }

    private static LocalDate dayOf(long millis) {
        return Instant.ofEpochMilli(millis).atZone(ZoneOffset.UTC).toLocalDate();
    }

    private boolean tryLock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?))")) {
            ps.setString(1, schema + ".sealing");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private void unlock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(hashtext(?))")) {
            ps.setString(1, schema + ".sealing");
            ps.execute();
        }
    }
}
