package io.prom2pg.store;

import java.nio.ByteBuffer;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The samples of some series in a time range, from both tiers: the head's rows, and the sealed
 * blocks that overlap the range, fetched as they are stored (a few arrays a series and window,
 * sent in PostgreSQL's binary array format so that NaN payloads keep their bits) and decoded here
 * with the arithmetic of the schema's {@code block_samples}: a sample's time is {@code first_time
 * + (n - 1) * time_step + time_offsets[n]}, its value {@code value_ints[n] / 10^value_scale} (both
 * as float8) or {@code vals[n]}. A read of 10 series over 3 hours fetches 10 rows of arrays
 * instead of 7,200 samples decoded, converted to timestamps and back, and sorted by the server.
 */
public final class StoredSamples {

    /** 10^scale for the scales block_encode makes (0-3), exact in float8 as PostgreSQL's power() gives them. */
    private static final double[] POWERS_OF_TEN = {1, 10, 100, 1000};

    /**
     * Rows of blocks are fetched this many at a time (in a transaction: PostgreSQL's driver fetches
     * rows a few at a time only in one). A 4-hour block's arrays are ~19 KB, and all of them at
     * once for a 2,000-series write checked against its blocks (15 MB a request, 16 in flight)
     * ran prom2pg out of its 128 MB heap (bench/sealing.sh, a backlog into a sealed window of
     * 100k series).
     */
    private static final int FETCH_ROWS = 64;

    private StoredSamples() {
    }

    /** One series' samples in ascending time order. */
    public static final class Series {
        private long[] times = new long[16];
        private double[] values = new double[16];
        private int count;

        public int count() {
            return count;
        }

        public long time(int i) {
            return times[i];
        }

        public double value(int i) {
            return values[i];
        }

        /** Whether one of the samples is at {@code t}. */
        boolean contains(long t) {
            for (int i = 0; i < count; i++) {
                if (times[i] == t) {
                    return true;
                }
            }
            return false;
        }

        void add(long t, double v) {
            if (count == times.length) {
                times = Arrays.copyOf(times, count * 2);
                values = Arrays.copyOf(values, count * 2);
            }
            times[count] = t;
            values[count++] = v;
        }

        /** This series' samples and then {@code later}'s, in one ascending order. */
        Series merge(Series later) {
            if (later.count == 0) {
                return this;
            }
            if (count == 0 || times[count - 1] < later.times[0]) {
                for (int i = 0; i < later.count; i++) {
                    add(later.times[i], later.values[i]);
                }
                return this;
            }
            Series merged = new Series();
            int i = 0;
            int j = 0;
            while (i < count || j < later.count) {
                if (j == later.count || (i < count && times[i] <= later.times[j])) {
                    merged.add(times[i], values[i++]);
                } else {
                    merged.add(later.times[j], later.values[j++]);
                }
            }
            return merged;
        }
    }

    /**
     * The samples of {@code ids} from {@code fromMillis} to {@code toMillis}, both included.
     *
     * @return per series that has samples in the range, its samples; {@code null} when there are
     *         more than {@code limit} (reading stops there)
     */
    public static Map<Long, Series> read(Connection c, String schema, long[] ids, long fromMillis, long toMillis, int limit)
            throws SQLException {
        // one snapshot for both tiers: a seal that commits between the two reads moves samples
        // from the head into blocks read before it, and they would be in neither
        return Sql.inTransaction(c, Connection.TRANSACTION_REPEATABLE_READ, () -> bothTiers(c, schema, ids, fromMillis, toMillis, limit));
    }

    private static Map<Long, Series> bothTiers(Connection c, String schema, long[] ids, long fromMillis, long toMillis, int limit)
            throws SQLException {
        Map<Long, Series> sealed = new LinkedHashMap<>();
        Array idArray = c.createArrayOf("int8", Arrays.stream(ids).boxed().toArray());
        int budget = blocks(c, schema, idArray, fromMillis, toMillis, limit, sealed);
        if (budget < 0) {
            return null;
        }
        Map<Long, Series> head = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT series_id, (date_part('epoch', time) * 1000)::int8,"
                + " float8send(value) FROM " + schema + ".samples WHERE series_id = ANY (?)"
                + " AND time >= timestamptz 'epoch' + ? * interval '1 millisecond'"
                + " AND time < timestamptz 'epoch' + (? + 1) * interval '1 millisecond'"
                + " ORDER BY series_id, time LIMIT ?")) {
            ps.setArray(1, idArray);
            ps.setLong(2, fromMillis);
            ps.setLong(3, toMillis);
            ps.setInt(4, budget + 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (budget-- <= 0) {
                        return null;
                    }
                    head.computeIfAbsent(rs.getLong(1), k -> new Series())
                            .add(rs.getLong(2), Double.longBitsToDouble(ByteBuffer.wrap(rs.getBytes(3)).getLong()));
                }
            }
        }
        // a series' late samples may sit in the head beside its blocks: each tier is in time
        // order, and the two are merged
        Map<Long, Series> all = new LinkedHashMap<>();
        for (long id : ids) {
            Series s = sealed.get(id);
            Series h = head.get(id);
            if (s != null || h != null) {
                all.put(id, s == null ? h : h == null ? s : s.merge(h));
            }
        }
        return all;
    }

    /**
     * The times the sealed blocks hold of {@code ids} from {@code fromMillis} to {@code toMillis},
     * both included and within one hour, per series that has some (its values left 0). A late
     * write checks its times only: of 2,000 4-hour blocks, the time offsets alone came in 33 ms,
     * with the values 84 ms (PostgreSQL's time, EXPLAIN ANALYZE). Only the blocks that can hold
     * the hour are opened: its window's and its own (and a whole day's of releases before V12).
     */
    static Map<Long, Series> sealedTimes(Connection c, String schema, long[] ids, long fromMillis, long toMillis) throws SQLException {
        return Sql.inTransaction(c, () -> times(c, schema, ids, fromMillis, toMillis));
    }

    private static Map<Long, Series> times(Connection c, String schema, long[] ids, long fromMillis, long toMillis) throws SQLException {
        Map<Long, Series> sealed = new LinkedHashMap<>();
        int window = Sealer.windowHour(fromMillis);
        try (PreparedStatement ps = c.prepareStatement("SELECT series_id, first_time, time_step, array_send(time_offsets)"
                + " FROM " + schema + ".sample_blocks WHERE series_id = ANY (?) AND day = ?"
                + " AND (hour = 0 OR hour >= ? AND hour < ?) AND last_time >= ? AND first_time <= ?")) {
            ps.setArray(1, c.createArrayOf("int8", Arrays.stream(ids).boxed().toArray()));
            ps.setObject(2, day(fromMillis));
            ps.setInt(3, window);
            ps.setInt(4, window + (int) (Sealer.BLOCK_MILLIS / Sealer.HOUR_MILLIS));
            ps.setLong(5, fromMillis);
            ps.setLong(6, toMillis);
            ps.setFetchSize(FETCH_ROWS);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    decode(rs.getLong(2), rs.getLong(3), null, rs.getBytes(4), null, null, fromMillis, toMillis,
                            sealed.computeIfAbsent(rs.getLong(1), k -> new Series()));
                }
            }
        }
        return sealed;
    }

    /** Decodes the blocks' samples of the range into {@code out}; returns what is left of {@code limit}, negative once over it. */
    private static int blocks(Connection c, String schema, Array idArray, long fromMillis, long toMillis, int limit,
                              Map<Long, Series> out) throws SQLException {
        int budget = limit;
        // a block partition holds the blocks whose window starts on its day (UTC)
        try (PreparedStatement ps = c.prepareStatement("SELECT series_id, first_time, time_step, value_scale,"
                + " array_send(time_offsets), array_send(value_ints), array_send(vals) FROM " + schema + ".sample_blocks"
                + " WHERE series_id = ANY (?) AND day >= ? AND day <= ? AND last_time >= ? AND first_time <= ?"
                + " ORDER BY series_id, first_time")) {
            ps.setArray(1, idArray);
            ps.setObject(2, day(fromMillis));
            ps.setObject(3, day(toMillis));
            ps.setLong(4, fromMillis);
            ps.setLong(5, toMillis);
            ps.setFetchSize(FETCH_ROWS);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Series s = out.computeIfAbsent(rs.getLong(1), k -> new Series());
                    int before = s.count;
                    decode(rs.getLong(2), rs.getLong(3), (Short) rs.getObject(4, Short.class), rs.getBytes(5), rs.getBytes(6),
                            rs.getBytes(7), fromMillis, toMillis, s);
                    budget -= s.count - before;
                    if (budget < 0) {
                        return budget;
                    }
                }
            }
        }
        return budget;
    }

    /**
     * Appends a block's samples from {@code from} to {@code to} (ms, both included) to {@code out};
     * the arrays are {@code array_send}'s bytes, {@code ints} and {@code scale} or {@code floats}.
     * With neither, the times alone (values 0).
     */
    static void decode(long firstTime, long step, Short scale, byte[] offsets, byte[] ints, byte[] floats,
                       long from, long to, Series out) {
        ByteBuffer o = ByteBuffer.wrap(offsets);
        byte[] values = scale == null ? floats : ints;
        ByteBuffer v = values == null ? null : ByteBuffer.wrap(values);
        int n = length(o);
        if (v != null && length(v) != n) {
            throw new IllegalStateException("a sealed block's times and values differ in length");
        }
        double divisor = scale == null ? 1 : POWERS_OF_TEN[scale];
        for (int i = 0; i < n; i++) {
            long t = firstTime + i * step + element(o, 4).getInt();
            long bits = v == null ? 0 : element(v, 8).getLong();
            if (t >= from && t <= to) {
                out.add(t, scale == null ? Double.longBitsToDouble(bits) : bits / divisor);
            }
        }
    }

    /**
     * The length of a one-dimensional array as {@code array_send} writes it (dimensions, a flag for
     * nulls, the element type, then per dimension its length and lower bound), leaving {@code b}
     * at its first element; 0 for an empty array, which has no dimension.
     */
    private static int length(ByteBuffer b) {
        int dimensions = b.getInt();
        b.getInt();
        b.getInt();
        if (dimensions == 0) {
            return 0;
        }
        if (dimensions != 1) {
            throw new IllegalStateException("a sealed block's array has " + dimensions + " dimensions");
        }
        int length = b.getInt();
        b.getInt();
        return length;
    }

    /** {@code b} at its next element's bytes, each element preceded by its size (-1 for a null). */
    private static ByteBuffer element(ByteBuffer b, int size) {
        int length = b.getInt();
        if (length != size) {
            throw new IllegalStateException("a sealed block's array holds a null or an element of " + length + " bytes");
        }
        return b;
    }

    private static LocalDate day(long millis) {
        return LocalDate.ofInstant(Instant.ofEpochMilli(millis), ZoneOffset.UTC);
    }
}
