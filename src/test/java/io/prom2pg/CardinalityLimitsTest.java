package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Requests that would create too many series are refused with a reason; other metrics keep flowing. */
class CardinalityLimitsTest {

    static final Map<String, String> LIMITS = Map.of(
            "prom2pg.limits.new-series-per-request", "100",
            "prom2pg.limits.series-per-metric", "150");

    @Test
    void should_refuse_requests_over_the_series_limits_and_keep_other_metrics_flowing() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("cardinality");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, LIMITS).awaitReady(Duration.ofSeconds(30))) {
            HttpResponse<String> tooMany = RemoteWrite.post(prom2pg.writeUri(), request("test_a", 0, 101, 1000));
            assertEquals(400, tooMany.statusCode());
            assertTrue(tooMany.body().contains("prom2pg.limits.new-series-per-request (100)"), tooMany.body());
            assertEquals(0, seriesOf(url, schema, "test_a"), "nothing of a refused request is created");
            assertEquals(101, prom2pg.metric("prom2pg_samples_rejected_total{reason=\"cardinality\"}"));

            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("test_a", 0, 100, 1000)).statusCode());
            HttpResponse<String> overMetric = RemoteWrite.post(prom2pg.writeUri(), request("test_a", 100, 100, 1000));
            assertEquals(400, overMetric.statusCode());
            assertTrue(overMetric.body().contains("metric test_a has 100 series"), overMetric.body());
            assertEquals(100, seriesOf(url, schema, "test_a"));

            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("test_b", 0, 100, 1000)).statusCode(),
                    "another metric keeps flowing");
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("test_a", 0, 100, 2000)).statusCode(),
                    "existing series of the full metric keep flowing");
        }
        // after a restart the cache is empty: series that exist are not new, whatever the limits
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema,
                Map.of("prom2pg.limits.new-series-per-request", "10")).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("test_a", 0, 100, 3000)).statusCode());
            assertEquals(300, TestDatabase.queryLong(url,
                    "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_a'"));
        }
    }

    private static WriteRequest request(String metric, int first, int count, long time) {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        for (int i = first; i < first + count; i++) {
            request.addTimeseries(series("__name__", metric, "pod", "pod-" + i).addSamples(sample(1_795_493_700_000L + time, i)));
        }
        return request.build();
    }

    private static long seriesOf(String url, String schema, String metric) throws Exception {
        return TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series WHERE metric_name = '" + metric + "'");
    }
}
