package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Await;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * prom2pg on TimescaleDB, run when the suite's server has it preloaded ({@code PROM2PG_TEST_DB_URL}
 * pointing at one); skipped on plain PostgreSQL. The samples become a hypertable in a schema of
 * prom2pg's, the extension lives in public (usable by every prom2pg schema of the database), no
 * index beyond the unique (series_id, time), retried writes add nothing and retention drops old
 * chunks.
 */
class TimescaleDbTest {

    @Test
    void should_run_on_timescaledb_with_the_plain_layouts_contract() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        assumeTrue(TestDatabase.timescaleDb(), "the server has no preloaded TimescaleDB");
        String schema = TestDatabase.newSchema("timescale");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.retention.raw-days", "30",
                "prom2pg.retention.delay-ms", "500", "prom2pg.retention.interval-ms", "500")).awaitReady(Duration.ofSeconds(60))) {
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM timescaledb_information.hypertables"
                    + " WHERE hypertable_schema = '" + schema + "' AND hypertable_name = 'samples'"));
            assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM pg_extension e JOIN pg_class c ON c.relnamespace = e.extnamespace"
                    + " WHERE e.extname = 'timescaledb' AND c.relname = 'flyway_schema_history'"),
                    "the extension is not in a schema of prom2pg's (dropping one would drop it for all)");
            assertEquals("samples_series_time_key", TestDatabase.queryString(url, "SELECT string_agg(indexrelid::regclass::text, ',')"
                    + " FROM pg_index WHERE indrelid = '" + schema + ".samples'::regclass").replace(schema + ".", ""),
                    "only the unique index, no time DESC one");

            long now = System.currentTimeMillis();
            long old = now - 40 * 86_400_000L;
            TimeSeries.Builder ts = series("__name__", "timescale_test", "i", "0");
            for (int k = 0; k < 10; k++) {
                ts.addSamples(sample(old + k * 15_000L, k)).addSamples(sample(now - 3_600_000L + k * 15_000L, k));
            }
            WriteRequest request = WriteRequest.newBuilder().addTimeseries(ts).build();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            // retention may already have dropped the old chunk: count today's samples
            String recent = "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'timescale_test' AND time > now() - interval '1 day'";
            assertEquals(10, TestDatabase.queryLong(url, recent));
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            assertEquals(10, TestDatabase.queryLong(url, recent), "a retried request adds nothing");

            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'timescale_test'") == 10,
                    Duration.ofSeconds(30), "the 40-day-old chunk dropped by retention");
            assertEquals(0.0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"retention\"}"));
            assertEquals(0.0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
        }
    }

    @Test
    void should_seal_old_chunks_by_compressing_them_and_keep_every_sample_bit_for_bit() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        assumeTrue(TestDatabase.timescaleDb(), "the server has no preloaded TimescaleDB");
        String schema = TestDatabase.newSchema("timescale_seal");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-after-ms", "1000",
                "prom2pg.storage.seal-delay-ms", "300", "prom2pg.storage.seal-interval-ms", "300",
                "prom2pg.storage.size-interval-ms", "200")).awaitReady(Duration.ofSeconds(60))) {
            long day = (System.currentTimeMillis() / 86_400_000L - 3) * 86_400_000L;
            double[] values = {1.5, Double.longBitsToDouble(0x7ff0000000000002L), Double.NaN, Double.POSITIVE_INFINITY, -0.0, 0.0, 42};
            WriteRequest.Builder w = WriteRequest.newBuilder();
            for (int i = 0; i < 3; i++) {
                TimeSeries.Builder ts = series("__name__", "timescale_sealed", "i", String.valueOf(i));
                for (int k = 0; k < 200; k++) {
                    ts.addSamples(sample(day + 3_600_000L + k * 15_000L + k % 3, values[(k + i) % values.length]));
                }
                w.addTimeseries(ts);
            }
            WriteRequest request = w.build();
            String rows = "SELECT count(*) || ' ' || md5(string_agg((labels ->> 'i') || ':' || (extract(epoch FROM time) * 1000)::bigint"
                    + " || ':' || encode(float8send(value), 'hex'), ',' ORDER BY labels ->> 'i', time)) FROM " + schema
                    + ".metrics WHERE name = 'timescale_sealed'";
            var routes = prom2pg.app().context().getRouteController();
            routes.suspendRoute("storage-sealing");
            String before;
            try {
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
                before = TestDatabase.queryString(url, rows);
                Await.until(() -> prom2pg.metric("prom2pg_storage_oldest_unsealed_age_seconds") >= 2 * 86_400,
                        Duration.ofSeconds(30), "the old day's chunk waits uncompressed");
            } finally {
                routes.resumeRoute("storage-sealing");
            }
            String compressed = "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_schema = '" + schema
                    + "' AND is_compressed AND range_end <= now() - interval '2 days'";
            Await.until(() -> TestDatabase.queryLong(url, compressed) == 1, Duration.ofSeconds(30), "the old day's chunk compressed");
            assertEquals(before, TestDatabase.queryString(url, rows), "every sample, bit for bit, from the compressed chunk");
            assertEquals(600.0, prom2pg.metric("prom2pg_storage_sealed_samples_total"));
            Await.until(() -> prom2pg.metric("prom2pg_storage_bytes{tier=\"sealed\"}") > 0
                    && prom2pg.metric("prom2pg_storage_oldest_unsealed_age_seconds") < 129_600, Duration.ofSeconds(30),
                    "the compressed chunk counted as the sealed tier, the lag gone");

            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            assertEquals(before, TestDatabase.queryString(url, rows), "a retry into the compressed chunk adds nothing");
            WriteRequest late = WriteRequest.newBuilder().addTimeseries(series("__name__", "timescale_sealed", "i", "0")
                    .addSamples(sample(day + 7_200_000L, 7))).build();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), late).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), late).statusCode());
            assertEquals(601, Long.parseLong(TestDatabase.queryString(url, rows).split(" ")[0]), "a late sample stored once");
            assertEquals(0.0, prom2pg.metric("prom2pg_storage_seal_failures_total"));
        }
    }
}
