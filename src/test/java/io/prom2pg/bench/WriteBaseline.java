package io.prom2pg.bench;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * The physical limit to compare prom2pg with: the same rows, loaded into a table of the same
 * shape and indexes (daily partitions, unique on series and time) on the same server.
 *
 * <p>The baseline is one COPY of all the rows. {@link #run(String, String, String, long, Method, int, int)}
 * also loads them in statements of a given size from several sessions, with COPY or with the
 * insert statements a JDBC or camel-sql write path would use, so the write methods are compared on
 * the same rows and server.
 */
final class WriteBaseline {

    /** How the rows are written. */
    enum Method {
        /** binary COPY, as prom2pg's fast path */
        COPY,
        /** one {@code INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING} per statement, as prom2pg's idempotent path */
        UNNEST,
        /** a JDBC batch of one-row {@code INSERT … ON CONFLICT DO NOTHING}, as camel-sql's {@code batch=true} */
        BATCH,
        /** the same batch with the driver's {@code reWriteBatchedInserts=true} (multi-row VALUES) */
        BATCH_REWRITE;

        static Method parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        }
    }

    /** Bytes of the binary COPY header and of one (time, series_id, value) row. */
    private static final int HEADER = 19;
    private static final int ROW = 2 + 3 * (4 + 8);
    private static final byte[] TRAILER = {(byte) 0xff, (byte) 0xff};
    /** PostgreSQL's epoch (2000-01-01) in Unix milliseconds. */
    private static final long PG_EPOCH_MILLIS = 946_684_800_000L;

    private static final String INSERT_UNNEST = "INSERT INTO bench_copy.samples (time, series_id, value)"
            + " SELECT to_timestamp(CAST(t AS float8) / 1000), s, v"
            + " FROM unnest(CAST(? AS int8[]), CAST(? AS int8[]), CAST(? AS float8[])) AS u(t, s, v) ON CONFLICT DO NOTHING";
    private static final String INSERT_ONE = "INSERT INTO bench_copy.samples (time, series_id, value)"
            + " VALUES (to_timestamp(CAST(? AS float8) / 1000), ?, ?) ON CONFLICT DO NOTHING";

    record Result(long rows, double seconds) {
        double rowsPerSecond() {
            return rows / seconds;
        }
    }

    private WriteBaseline() {
    }

    /** One COPY of every row stored from {@code fromMillis} on. */
    static Result run(String jdbcUrl, String user, String schema, long fromMillis) throws Exception {
        return run(jdbcUrl, user, schema, fromMillis, Method.COPY, 1, Integer.MAX_VALUE);
    }

    /**
     * The rows stored from {@code fromMillis} on, written with {@code method} in statements of at most {@code rowsPerStatement}
     * rows (one transaction each) from {@code sessions} sessions at once.
     */
    static Result run(String jdbcUrl, String user, String schema, long fromMillis, Method method, int sessions,
            int rowsPerStatement)
            throws Exception {
        byte[] rows;
        try (Connection c = DriverManager.getConnection(jdbcUrl, user, "")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            c.unwrap(PGConnection.class).getCopyAPI()
                    .copyOut("COPY (SELECT time, series_id, value FROM " + schema + ".samples"
                            + " WHERE time >= to_timestamp(" + fromMillis / 1000 + ")) TO STDOUT (FORMAT binary)", out);
            rows = out.toByteArray();
            try (Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE");
                st.execute("CREATE SCHEMA bench_copy");
                st.execute("CREATE TABLE bench_copy.samples (LIKE " + schema + ".samples INCLUDING ALL) PARTITION BY RANGE (time)");
                st.execute("DO $$ DECLARE d date; BEGIN FOR d IN SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM "
                        + schema + ".samples WHERE time >= to_timestamp(" + fromMillis / 1000 + ") LOOP EXECUTE format('CREATE TABLE bench_copy.%I PARTITION OF bench_copy.samples"
                        + " FOR VALUES FROM (%L) TO (%L)', 'samples_' || to_char(d, 'YYYYMMDD'),"
                        + " d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC'); END LOOP; END $$");
                st.execute("CHECKPOINT");
            }
        }
        int n = (rows.length - HEADER - TRAILER.length) / ROW;
        String url = method == Method.BATCH_REWRITE
                ? jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "reWriteBatchedInserts=true"
                : jdbcUrl;
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> sessionsDone = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                sessionsDone.add(pool.submit(() -> {
                    try (Connection c = DriverManager.getConnection(url, user, "")) {
                        for (int first; (first = next.getAndAdd(rowsPerStatement)) < n && first >= 0; ) {
                            write(c, method, rows, first, Math.min(rowsPerStatement, n - first));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : sessionsDone) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        try (Connection c = DriverManager.getConnection(jdbcUrl, user, ""); Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA bench_copy CASCADE");
        }
        return new Result(n, seconds);
    }

    private static void write(Connection c, Method method, byte[] rows, int first, int count) throws Exception {
        if (method == Method.COPY) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            CopyIn in = copy.copyIn("COPY bench_copy.samples FROM STDIN (FORMAT binary)");
            in.writeToCopy(rows, 0, HEADER);
            in.writeToCopy(rows, HEADER + first * ROW, count * ROW);
            in.writeToCopy(TRAILER, 0, TRAILER.length);
            in.endCopy();
            return;
        }
        // the columns of each row: a field count, then length and value of time (µs since 2000), series, value
        ByteBuffer b = ByteBuffer.wrap(rows);
        Long[] times = new Long[count];
        Long[] series = new Long[count];
        Double[] values = new Double[count];
        for (int i = 0; i < count; i++) {
            int at = HEADER + (first + i) * ROW;
            times[i] = b.getLong(at + 2 + 4) / 1000 + PG_EPOCH_MILLIS;
            series[i] = b.getLong(at + 2 + 12 + 4);
            values[i] = b.getDouble(at + 2 + 24 + 4);
        }
        if (method == Method.UNNEST) {
            try (PreparedStatement ps = c.prepareStatement(INSERT_UNNEST)) {
                ps.setArray(1, c.createArrayOf("int8", times));
                ps.setArray(2, c.createArrayOf("int8", series));
                ps.setArray(3, c.createArrayOf("float8", values));
                ps.executeUpdate();
            }
            return;
        }
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement(INSERT_ONE)) {
            for (int i = 0; i < count; i++) {
                ps.setLong(1, times[i]);
                ps.setLong(2, series[i]);
                ps.setDouble(3, values[i]);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        c.commit();
        c.setAutoCommit(true);
    }
}
