package io.prom2pg.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.prom2pg.support.TestDatabase;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sealed tier's encoding, on a real PostgreSQL with prom2pg's schema: every block that
 * {@code block_encode} makes gives its samples back through {@code block_samples} bit for bit and
 * in order, whatever the values (integers, decimals, NaN payloads, ±Inf, -0.0, magnitudes past
 * the integer range) and the times (jitter, gaps, one sample); the compact forms are chosen where
 * they are exact and only there.
 */
class BlockEncodingTest {

    static final long DAY0 = 20_400L * 86_400_000L;
    static final long STALE = 0x7ff0000000000002L;
    static String url;
    static String schema;

    @BeforeAll
    static void migrate() {
        url = TestDatabase.shared().jdbcUrl();
        schema = TestDatabase.newSchema("encoding");
        Flyway.configure().dataSource(url, "postgres", "").schemas(schema).defaultSchema(schema)
                .placeholders(Map.of("schema", schema)).locations("classpath:db/migration").load().migrate();
    }

    @Test
    void should_pick_the_compact_form_only_where_it_is_exact() throws Exception {
        assertEquals(0, encode(times(4, 15_000, 0), new double[] {0, 1, 5, 4_096}).scale, "integers");
        assertEquals(2, encode(times(4, 15_000, 0), new double[] {12.5, 0.07, 3, 1234.56}).scale, "hundredths");
        assertEquals(3, encode(times(3, 15_000, 0), new double[] {0.005, 0.1, 2.5}).scale, "thousandths");
        assertNull(encode(times(3, 15_000, 0), new double[] {1, -0.0, 2}).scale, "-0.0 is not an integer's");
        assertNull(encode(times(3, 15_000, 0), new double[] {1, Double.longBitsToDouble(STALE), 2}).scale, "a stale marker");
        assertNull(encode(times(3, 15_000, 0), new double[] {1, Double.POSITIVE_INFINITY, 2}).scale, "infinity");
        assertNull(encode(times(2, 15_000, 0), new double[] {1, 0.1 + 0.2}).scale, "0.30000000000000004 has 17 places");
        assertNull(encode(times(2, 15_000, 0), new double[] {1, 4e12}).scale, "k would pass 2^53 at three places");
        Block jittered = encode(new long[] {DAY0 + 1, DAY0 + 15_003, DAY0 + 29_998, DAY0 + 45_001}, new double[] {1, 2, 3, 4});
        assertEquals(15_000, jittered.step, "the grid's step, the mean interval");
        assertEquals(List.of(0L, 2L, -3L, 0L), jittered.offsets, "each time's offset from the grid");
    }

    @Test
    void should_give_back_every_sample_bit_for_bit_whatever_the_block() throws Exception {
        List<Samples> blocks = randomBlocks();
        for (int b = 0; b < blocks.size(); b++) {
            Samples s = blocks.get(b);
            assertEquals(bits(s.times, s.values), roundTrip(s.times, s.values), "block " + b + " (shape " + s.shape + ", "
                    + s.times.length + " samples)");
            if (s.shape == 0) {
                assertEquals(0, encode(s.times, s.values).scale, "an integer counter's block holds integers");
            }
        }
    }

    @Test
    void should_make_the_same_blocks_as_the_encoding_it_replaced() throws Exception {
        // V13 replaced V9's block_encode with a faster one: every column of every block the same,
        // the float arrays compared by their bytes (array_send), NaN payloads included
        String before = TestDatabase.newSchema("encoding_v12");
        Flyway.configure().dataSource(url, "postgres", "").schemas(before).defaultSchema(before).target("12")
                .placeholders(Map.of("schema", before)).locations("classpath:db/migration").load().migrate();
        List<Samples> blocks = randomBlocks();
        for (int b = 0; b < blocks.size(); b++) {
            Samples s = blocks.get(b);
            assertEquals(encoded(before, s), encoded(schema, s), "block " + b + " (shape " + s.shape + ")");
        }
    }

    @Test
    void should_decode_in_java_the_samples_block_samples_gives() throws Exception {
        // remote read decodes the blocks it fetches (StoredSamples): the same samples, bit for bit
        // and in order, over the whole block and over a range that cuts it at both ends
        List<Samples> blocks = randomBlocks();
        try (Connection c = TestDatabase.connect(url);
             PreparedStatement ps = c.prepareStatement("SELECT e.first_time, e.time_step, e.value_scale, array_send(e.time_offsets),"
                     + " array_send(e.value_ints), array_send(e.vals) FROM " + schema + ".block_encode(?::int8[], ?::float8[]) e")) {
            for (int b = 0; b < blocks.size(); b++) {
                Samples s = blocks.get(b);
                ps.setObject(1, s.times);
                ps.setObject(2, s.values);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    int n = s.times.length;
                    long from = s.times[n / 3];
                    long to = s.times[2 * n / 3];
                    StoredSamples.Series whole = new StoredSamples.Series();
                    StoredSamples.Series part = new StoredSamples.Series();
                    for (StoredSamples.Series out : List.of(whole, part)) {
                        StoredSamples.decode(rs.getLong(1), rs.getLong(2), (Short) rs.getObject(3, Short.class), rs.getBytes(4),
                                rs.getBytes(5), rs.getBytes(6), out == whole ? Long.MIN_VALUE : from,
                                out == whole ? Long.MAX_VALUE : to, out);
                    }
                    String what = "block " + b + " (shape " + s.shape + ", " + n + " samples)";
                    assertEquals(bits(s.times, s.values), bits(whole), what);
                    assertEquals(bits(s.times, s.values).subList(n / 3, 2 * n / 3 + 1), bits(part), what + ", from " + from + " to " + to);
                }
            }
        }
    }

    static List<String> bits(StoredSamples.Series s) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s.count(); i++) {
            out.add(s.time(i) + ":" + String.format("%016x", Double.doubleToRawLongBits(s.value(i))));
        }
        return out;
    }

    /** Blocks of every value shape, times with jitter and gaps, some of one to three samples. */
    static List<Samples> randomBlocks() {
        Random random = new Random(7);
        double[] specials = {Double.NaN, Double.longBitsToDouble(STALE), Double.longBitsToDouble(0x7ff8_0000_dead_beefL),
            Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0, Double.MIN_VALUE, -Double.MAX_VALUE, 1e300,
            3_999_999_999_999.0, 4e12, 9_007_199_254_740_993.0, 0.1 + 0.2, 1.0 / 3};
        List<Samples> blocks = new ArrayList<>();
        for (int b = 0; b < 300; b++) {
            int n = b % 50 == 0 ? 1 + b % 3 : 1 + random.nextInt(400);
            long[] times = new long[n];
            double[] values = new double[n];
            long t = DAY0 + random.nextInt(3_600_000);
            int shape = b % 6;
            double v = random.nextInt(1000);
            for (int i = 0; i < n; i++) {
                // scrape jitter, now and then a gap of minutes, within the day
                t += (random.nextInt(20) == 0 ? 60_000L * (1 + random.nextInt(30)) : 15_000L) + random.nextInt(7) - 3;
                times[i] = t;
                v = switch (shape) {
                    case 0 -> v + random.nextInt(40); // an integer counter
                    case 1 -> Math.round((v + random.nextGaussian()) * 100) / 100.0; // hundredths
                    case 2 -> Math.round((v + random.nextGaussian()) * 1000) / 1000.0; // thousandths
                    case 3 -> v + random.nextDouble(); // floats
                    case 4 -> random.nextInt(10) == 0 ? specials[random.nextInt(specials.length)] : random.nextInt(100);
                    default -> random.nextLong() / Math.pow(10, random.nextInt(4)); // past the integer range
                };
                values[i] = v;
            }
            blocks.add(new Samples(shape, times, values));
        }
        return blocks;
    }

    record Samples(int shape, long[] times, double[] values) {
    }

    /** Every column block_encode of {@code in} makes of the samples, as text, floats as bytes. */
    static String encoded(String in, Samples s) throws Exception {
        try (Connection c = TestDatabase.connect(url);
             PreparedStatement ps = c.prepareStatement("SELECT (e.first_time, e.last_time, e.count, e.time_step, e.time_offsets,"
                     + " e.value_scale, e.value_ints, encode(array_send(e.vals), 'hex'))::text FROM " + in
                     + ".block_encode(?::int8[], ?::float8[]) e")) {
            ps.setObject(1, s.times);
            ps.setObject(2, s.values);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    record Block(long step, List<Long> offsets, Integer scale) {
    }

    static long[] times(int n, long step, long jitter) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = DAY0 + i * step + (i % 2 == 0 ? jitter : -jitter);
        }
        return t;
    }

    static Block encode(long[] times, double[] values) throws Exception {
        try (Connection c = TestDatabase.connect(url);
             PreparedStatement ps = c.prepareStatement("SELECT e.time_step, e.time_offsets, e.value_scale"
                     + " FROM " + schema + ".block_encode(?::int8[], ?::float8[]) e")) {
            ps.setObject(1, times);
            ps.setObject(2, values);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                List<Long> offsets = new ArrayList<>();
                for (Integer o : (Integer[]) rs.getArray(2).getArray()) {
                    offsets.add((long) o);
                }
                int scale = rs.getInt(3);
                Integer places = rs.wasNull() ? null : scale;
                return new Block(rs.getLong(1), offsets, places);
            }
        }
    }

    /**
     * The samples encoded and decoded again in the database, "time:bits" in block_samples' order
     * (never through JDBC's doubles, which would not keep every NaN payload).
     */
    static List<String> roundTrip(long[] times, double[] values) throws Exception {
        try (Connection c = TestDatabase.connect(url);
             PreparedStatement ps = c.prepareStatement("SELECT u.t || ':' || encode(float8send(u.v), 'hex') FROM " + schema
                     + ".block_encode(?::int8[], ?::float8[]) e CROSS JOIN LATERAL " + Sealer.blockSamples(schema, "e") + " u")) {
            ps.setObject(1, times);
            ps.setObject(2, values);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }
    }

    static List<String> bits(long[] times, double[] values) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < times.length; i++) {
            out.add(times[i] + ":" + String.format("%016x", Double.doubleToRawLongBits(values[i])));
        }
        return out;
    }
}
