package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import io.prom2pg.metering.MeteringRollup;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /api/v1/reports/{view}: a period of a metering view as CSV or JSON. */
class ReportsTest {

    /** 2026-11-01T00:00:00Z */
    static final long H0 = 1_793_491_200_000L;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("reports", Map.of());

    @BeforeAll
    static void seed() throws Exception {
        for (String ns : List.of("shop", "billing")) {
            TimeSeries.Builder ts = series("__name__", "metering:pod_request_cpu_cores", "namespace", ns, "pod", ns + "-1", "node", "n1");
            for (int i = 0; i <= 180; i++) { // three hours at one-minute resolution
                ts.addSamples(sample(H0 + i * 60_000L, ns.equals("shop") ? 0.5 : 2));
            }
            ts.addSamples(sample(H0 + 181 * 60_000L, Double.longBitsToDouble(0x7ff0000000000002L)));
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder().addTimeseries(ts).build()).statusCode());
        }
        prom2pg.app().context().getRegistry().lookupByNameAndType("meteringRollup", MeteringRollup.class)
                .rollUp(OffsetDateTime.parse("2026-11-01T00:00:00Z"), OffsetDateTime.parse("2026-11-01T04:00:00Z"));
    }

    @Test
    void should_answer_a_period_of_a_metering_rollup_as_csv() throws Exception {
        HttpResponse<String> r = get("/api/v1/reports/metering_namespace_rollup?start=2026-11-01T01:00:00Z&end=2026-11-01T03:00:00Z&format=csv");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/csv"));
        List<String> lines = r.body().lines().toList();
        assertEquals("hour,namespace,cpu_request_core_seconds,cpu_usage_core_seconds,memory_request_byte_seconds,memory_usage_byte_seconds",
                lines.get(0));
        assertEquals(5, lines.size(), "two hours of two namespaces: " + lines);
        assertTrue(lines.contains("2026-11-01T01:00:00Z,shop,1800.0,0.0,0.0,0.0"), lines.toString());
        assertTrue(lines.contains("2026-11-01T02:00:00Z,billing,7200.0,0.0,0.0,0.0"), lines.toString());
        HttpResponse<String> encoded = get("/api/v1/reports/metering_namespace_rollup?start=2026-11-01T01%3A00%3A00Z"
                + "&end=2026-11-01T03%3A00%3A00%2B00%3A00&format=csv");
        assertEquals(r.body(), encoded.body(), "percent-encoded parameters (as a browser or curl --data-urlencode sends them) mean the same");
    }

    @Test
    void should_answer_json_with_epoch_seconds_too() throws Exception {
        long start = H0 / 1000;
        HttpResponse<String> r = get("/api/v1/reports/metering_pod_hourly?start=" + start + "&end=" + (start + 3600) + "&format=json");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("[{\"hour\":\"2026-11-01T00:00:00Z\""), r.body());
        assertTrue(r.body().contains("\"pod\":\"shop-1\"") && r.body().contains("\"cpu_request_core_seconds\":1800.0"), r.body());
    }

    @Test
    void should_answer_404_for_an_unknown_view_and_400_for_a_bad_period() throws Exception {
        assertEquals(404, get("/api/v1/reports/no_such_view?start=0&end=10").statusCode());
        assertEquals(404, get("/api/v1/reports/series?start=0&end=10").statusCode(), "only reports, not any table");
        HttpResponse<String> bad = get("/api/v1/reports/metering_pod_hourly?start=yesterday&end=10");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("RFC 3339"), bad.body());
        assertEquals(400, get("/api/v1/reports/metering_pod_hourly?start=20&end=10").statusCode());
        assertEquals(400, get("/api/v1/reports/metering_pod_hourly?end=10").statusCode());
        assertEquals(400, get("/api/v1/reports/metering_pod_hourly?start=0&end=10&format=xml").statusCode());
    }

    @Test
    void should_never_interpret_view_names_or_parameters_that_look_like_sql() throws Exception {
        String[] hostileViews = {"metering_pod_hourly;DROP%20TABLE%20x", "metering_pod_hourly'%20OR%20'1'='1",
            "metering_pod_hourly%22%3B%20DELETE%20FROM%20samples%3B--", "pg_catalog.pg_user", "..%2F..%2Fseries", "%00"};
        for (String view : hostileViews) {
            HttpResponse<String> r = get("/api/v1/reports/" + view + "?start=0&end=10");
            assertEquals(404, r.statusCode(), view + ": " + r.body());
        }
        String[] hostileStarts = {"0';%20DROP%20TABLE%20" + prom2pg.schema + ".samples;--", "now()", "1%20OR%201=1", "%00", "x".repeat(3000)};
        for (String start : hostileStarts) {
            HttpResponse<String> r = get("/api/v1/reports/metering_pod_hourly?start=" + start + "&end=10");
            assertTrue(r.statusCode() == 400 || r.statusCode() == 414, start + ": " + r.statusCode() + " " + r.body());
        }
        HttpResponse<String> huge = get("/api/v1/reports/" + "v".repeat(1 << 20) + "?start=0&end=10");
        assertTrue(huge.statusCode() >= 400 && huge.statusCode() < 500, "a megabyte-long view name: " + huge.statusCode());
        assertEquals(0, TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(),
                "SELECT count(*) FROM " + prom2pg.schema + ".samples WHERE false"), "the samples table is still there");
        assertEquals(200, get("/api/v1/reports/metering_pod_hourly?start=0&end=10").statusCode(), "and reports still answer");
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prom2pg.httpPort + path))
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
