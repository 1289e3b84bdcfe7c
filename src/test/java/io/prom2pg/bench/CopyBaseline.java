package io.prom2pg.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * The physical limit to compare prom2pg with: the same rows, loaded with COPY into a table of
 * the same shape and indexes (daily partitions, unique on series and time) on the same server.
 * The baseline is one COPY of all the rows; {@link #run(String, String, String, int, int)} also
 * splits them into COPYs of a given size over several sessions, as prom2pg's writers do.
 */
final class CopyBaseline {

    /** Bytes of the binary COPY header and of one (time, series_id, value) row. */
    private static final int HEADER = 19;
    private static final int ROW = 2 + 3 * (4 + 8);
    private static final byte[] TRAILER = {(byte) 0xff, (byte) 0xff};

    record Result(long rows, double seconds) {
        double rowsPerSecond() {
            return rows / seconds;
        }
    }

    private CopyBaseline() {
    }

    /** One COPY of every stored row. */
    static Result run(String jdbcUrl, String user, String schema) throws Exception {
        return run(jdbcUrl, user, schema, 1, Integer.MAX_VALUE);
    }

    /** The stored rows, in COPYs of at most {@code rowsPerCopy} rows from {@code sessions} sessions at once. */
    static Result run(String jdbcUrl, String user, String schema, int sessions, int rowsPerCopy) throws Exception {
        byte[] rows;
        try (Connection c = DriverManager.getConnection(jdbcUrl, user, "")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            c.unwrap(PGConnection.class).getCopyAPI()
                    .copyOut("COPY (SELECT time, series_id, value FROM " + schema + ".samples) TO STDOUT (FORMAT binary)", out);
            rows = out.toByteArray();
            try (Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE");
                st.execute("CREATE SCHEMA bench_copy");
                st.execute("CREATE TABLE bench_copy.samples (LIKE " + schema + ".samples INCLUDING ALL) PARTITION BY RANGE (time)");
                st.execute("DO $$ DECLARE d date; BEGIN FOR d IN SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM "
                        + schema + ".samples LOOP EXECUTE format('CREATE TABLE bench_copy.%I PARTITION OF bench_copy.samples"
                        + " FOR VALUES FROM (%L) TO (%L)', 'samples_' || to_char(d, 'YYYYMMDD'),"
                        + " d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC'); END LOOP; END $$");
                st.execute("CHECKPOINT");
            }
        }
        int n = (rows.length - HEADER - TRAILER.length) / ROW;
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> copies = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                copies.add(pool.submit(() -> {
                    try (Connection c = DriverManager.getConnection(jdbcUrl, user, "")) {
                        CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
                        for (int first; (first = next.getAndAdd(rowsPerCopy)) < n && first >= 0; ) {
                            int count = Math.min(rowsPerCopy, n - first);
                            CopyIn in = copy.copyIn("COPY bench_copy.samples FROM STDIN (FORMAT binary)");
                            in.writeToCopy(rows, 0, HEADER);
                            in.writeToCopy(rows, HEADER + first * ROW, count * ROW);
                            in.writeToCopy(TRAILER, 0, TRAILER.length);
                            in.endCopy();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : copies) {
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
}
