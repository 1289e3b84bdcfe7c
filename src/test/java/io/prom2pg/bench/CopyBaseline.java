package io.prom2pg.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The physical limit to compare prom2pg with: the same rows, loaded with COPY into a table of
 * the same shape and indexes (daily partitions, unique on series and time) on the same server.
 */
final class CopyBaseline {

    record Result(long rows, double seconds) {
        double rowsPerSecond() {
            return rows / seconds;
        }
    }

    private CopyBaseline() {
    }

    static Result run(String jdbcUrl, String user, String schema) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbcUrl, user, "")) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            ByteArrayOutputStream rows = new ByteArrayOutputStream();
            copy.copyOut("COPY (SELECT time, series_id, value FROM " + schema + ".samples) TO STDOUT (FORMAT binary)", rows);
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
            long t0 = System.nanoTime();
            long n = copy.copyIn("COPY bench_copy.samples FROM STDIN (FORMAT binary)", new ByteArrayInputStream(rows.toByteArray()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            try (Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA bench_copy CASCADE");
            }
            return new Result(n, seconds);
        }
    }
}
