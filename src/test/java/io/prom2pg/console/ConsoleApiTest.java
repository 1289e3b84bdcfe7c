package io.prom2pg.console;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;

import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Await;
import io.prom2pg.support.ConsoleData;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The console's files and JSON answers, over HTTP from a running prom2pg with known data. */
class ConsoleApiTest {

    static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("console", Map.of(
            "prom2pg.console.history-interval-ms", "200",
            "prom2pg.console.cache-ms", "0",
            "prom2pg.storage.size-interval-ms", "500",
            "prom2pg.read.max-samples", "130",
            "prom2pg.console.explore-max-series", "20",
            "prom2pg.console.cardinality-max-series", "11",
            "prom2pg.console.statement-timeout-ms", "1500",
            "prom2pg.console.max-queries", "2"));

    @BeforeAll
    static void seed() throws Exception {
        ConsoleData.seed(prom2pg);
    }

    @Test
    void should_serve_the_pages_and_the_chart_library_from_the_jar() throws Exception {
        HttpResponse<String> index = get("/console/");
        assertEquals(200, index.statusCode(), index.body());
        assertTrue(index.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(index.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'self'"));
        assertTrue(index.body().contains("lib/echarts.min.js"), "the status page loads the chart library from the jar");
        for (String page : new String[] {"cardinality.html", "chargeback.html", "explore.html", "console.js", "console.css"}) {
            HttpResponse<String> r = get("/console/" + page);
            assertEquals(200, r.statusCode(), page + ": " + r.body());
        }
        HttpResponse<String> lib = get("/console/lib/echarts.min.js");
        assertEquals(200, lib.statusCode());
        assertTrue(lib.headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
        assertTrue(lib.body().length() > 500_000 && lib.body().contains("echarts"), "ECharts itself, not a stub");
        HttpResponse<String> bare = get("/console");
        assertEquals(301, bare.statusCode());
        assertEquals("console/", bare.headers().firstValue("Location").orElse(null), "relative, so that it holds behind a proxy's prefix");
        for (String bad : new String[] {"/console/../pom.xml", "/console/%2e%2e/application.properties", "/console/nope.html",
            "/console/lib/other.js", "/console/META-INF/MANIFEST.MF"}) {
            HttpResponse<String> r = get(bad);
            assertEquals(404, r.statusCode(), bad + ": " + r.body());
        }
    }

    @Test
    void should_show_the_last_hour_of_ingest_readiness_series_routes_and_storage() throws Exception {
        // the history's first readings are taken before the writes it is to show
        Await.until(() -> json("/console/api/status").at("/history/time").size() >= 1, Duration.ofSeconds(10), "a first interval");
        WriteRequest.Builder more = WriteRequest.newBuilder();
        for (int i = 0; i < 10; i++) {
            more.addTimeseries(series("__name__", "console_status_load", "i", String.valueOf(i)).addSamples(sample(System.currentTimeMillis(), i)));
        }
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), more.build()).statusCode());
        try {
            Await.until(() -> {
                JsonNode s = json("/console/api/status");
                return sum(s.at("/history/written")) > 0 && s.at("/storage/head_bytes").isNumber();
            }, Duration.ofSeconds(20), "the history shows the writes and the storage sizes are read");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + get("/console/api/status").body(), e);
        }
        JsonNode status = json("/console/api/status");
        assertTrue(status.get("ready").asBoolean());
        assertEquals("UP", status.get("readiness").asText());
        int points = status.at("/history/time").size();
        assertTrue(points > 0);
        for (String series : new String[] {"received", "written", "requests", "latency_mean_seconds", "latency_p99_seconds"}) {
            assertEquals(points, status.at("/history/" + series).size(), series);
        }
        for (String reason : new String[] {"invalid", "duplicate", "cardinality", "ha_follower"}) {
            assertEquals(points, status.at("/history/rejected/" + reason).size(), reason);
        }
        // 50 + the seed's samples, each interval's rate times its length
        assertTrue(sum(status.at("/history/written")) * 0.2 >= 10 * 0.5, status.at("/history").toString());
        long total = status.at("/series/total").asLong();
        assertTrue(total >= ConsoleData.REQUESTS_SERIES + ConsoleData.UP_SERIES + 10, "series total " + total);
        long newSeries = 0;
        for (JsonNode n : status.at("/series/new_per_minute/count")) {
            newSeries += n.asLong();
        }
        assertEquals(total, newSeries, "every series of this schema was created within the hour");
        boolean sealing = false;
        for (JsonNode r : status.get("maintenance")) {
            sealing |= r.get("route").asText().equals("storage-sealing");
            assertTrue(r.has("runs") && r.has("failures") && r.has("last_success"), r.toString());
        }
        assertTrue(sealing, "every maintenance route is listed: " + status.get("maintenance"));
        JsonNode ha = status.get("ha");
        assertEquals(1, ha.size(), ha.toString());
        assertEquals("prometheus=openshift", ha.get(0).get("cluster").asText(), "the cluster is named by its external labels");
        assertEquals("prometheus-k8s-0", ha.get(0).get("leader").asText());
        assertTrue(ha.get(0).get("leader_time").asLong() > System.currentTimeMillis() - 600_000, ha.toString());
        long lastWrite = ha.get(0).get("last_write").asLong();
        assertTrue(Math.abs(System.currentTimeMillis() - lastWrite) < 120_000, "the leader wrote in the seed, moments ago: " + ha);
        assertEquals(30_000, ha.get(0).get("lease_until").asLong() - lastWrite, "renewed to its write + prom2pg.ha.timeout-ms");
        boolean seriesTable = false;
        for (JsonNode t : status.at("/storage/tables")) {
            seriesTable |= t.get("table").asText().equals("series") && t.get("bytes").asLong() > 0;
        }
        assertTrue(seriesTable, status.at("/storage/tables").toString());
    }

    @Test
    void should_list_the_metrics_with_the_most_series_and_a_metrics_labels_with_the_most_values() throws Exception {
        JsonNode top = json("/console/api/cardinality");
        assertEquals("console_demo_requests_total", top.at("/metrics/0/name").asText(), top.toString());
        assertEquals(ConsoleData.REQUESTS_SERIES, top.at("/metrics/0/series").asLong());
        JsonNode metric = json("/console/api/cardinality?metric=console_demo_requests_total");
        assertEquals(ConsoleData.REQUESTS_SERIES, metric.get("series").asLong());
        // prom2pg.console.cardinality-max-series is 11 here: 11 of the 12 series read, and it says so
        // (every pod and code still among them: each pod has two series)
        assertTrue(metric.get("truncated").asBoolean());
        assertEquals(11, metric.get("scanned").asLong());
        assertFalse(json("/console/api/cardinality?metric=console_demo_up").get("truncated").asBoolean());
        JsonNode labels = metric.get("labels");
        assertEquals("pod", labels.get(0).get("name").asText(), labels.toString());
        assertEquals(6, labels.get(0).get("values").asLong());
        assertEquals(5, labels.get(0).get("top").size(), "the five values with the most series");
        assertEquals(2, labels.get(0).at("/top/0/series").asLong(), "each pod has two series (codes)");
        assertEquals("code", labels.get(1).get("name").asText());
        assertEquals(2, labels.get(1).get("values").asLong());
        assertEquals(6, labels.get(1).at("/top/0/series").asLong());
        assertEquals(0, json("/console/api/cardinality?metric=no_such_metric").get("labels").size());
    }

    @Test
    void should_answer_a_months_chargeback_per_namespace_and_day_with_the_reports_links() throws Exception {
        JsonNode m = json("/console/api/chargeback?month=2026-11");
        assertEquals("2026-11", m.get("month").asText());
        assertEquals(30, m.get("days").size());
        assertEquals("2026-11-01", m.at("/days/0").asText());
        JsonNode billing = m.at("/namespaces/0");
        assertEquals("billing", billing.get("namespace").asText(), "the largest request first");
        assertEquals(4.0, billing.at("/cpu_request_core_hours/1").asDouble(), 1e-9, "2 cores for 2 h on the 2nd");
        assertEquals(2.0, billing.at("/memory_request_gib_hours/1").asDouble(), 1e-9, "1 GiB for 2 h");
        assertEquals(4.0, billing.at("/totals/cpu_request_core_hours").asDouble(), 1e-9);
        JsonNode shop = m.at("/namespaces/1");
        assertEquals("shop", shop.get("namespace").asText());
        assertEquals(1.0, shop.at("/cpu_request_core_hours/1").asDouble(), 1e-9, "0.5 cores for 2 h = 1 core-hour");
        assertEquals(1.0, shop.at("/cpu_request_core_hours/2").asDouble(), 1e-9);
        assertEquals(0.0, shop.at("/cpu_request_core_hours/0").asDouble(), 1e-9);
        assertEquals(2.0, shop.at("/totals/cpu_request_core_hours").asDouble(), 1e-9);
        String csv = m.at("/downloads/csv").asText();
        assertTrue(csv.startsWith("../api/v1/reports/metering_namespace_rollup?start=2026-11-01T00%3A00%3A00Z&end=2026-12-01T00%3A00%3A00Z"), csv);
        HttpResponse<String> rows = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prom2pg.httpPort + "/console/")
                .resolve(csv)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, rows.statusCode(), rows.body());
        double shopSeconds = rows.body().lines().filter(l -> l.contains(",shop,"))
                .mapToDouble(l -> Double.parseDouble(l.split(",")[2])).sum();
        assertEquals(2 * 3600.0, shopSeconds, 1e-6, "the download's hourly rows sum to the page's total");
        assertEquals("2026-11", m.get("last_month").asText());

        JsonNode newest = json("/console/api/chargeback");
        assertEquals("2026-11", newest.get("month").asText(), "no month: the newest with rollups");
        JsonNode empty = json("/console/api/chargeback?month=2026-09");
        assertEquals(0, empty.get("namespaces").size());
        assertEquals("2026-11", empty.get("first_month").asText(), "the page can tell where the data is");
        HttpResponse<String> bad = get("/console/api/chargeback?month=November");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("month must be YYYY-MM"), bad.body());
    }

    @Test
    void should_answer_a_selector_and_range_as_remote_read_would_within_its_sample_bound() throws Exception {
        long now = System.currentTimeMillis() / 1000;
        JsonNode a = json("/console/api/query?match=" + encode("console_demo_temperature{job=\"shop\", room=~\"a|b\"}")
                + "&start=" + (now - 3600) + "&end=" + now);
        assertEquals(1, a.get("series").size(), a.toString());
        JsonNode points = a.at("/series/0/points");
        assertEquals(ConsoleData.EXPLORE_POINTS, points.size());
        assertEquals("console_demo_temperature", a.at("/series/0/labels/__name__").asText());
        assertTrue(points.get(60).get(1).isNull(), "NaN is a gap");
        assertEquals(20.0, points.get(0).get(1).asDouble(), 1e-12);
        assertEquals(ConsoleData.EXPLORE_POINTS, a.get("samples").asLong());
        assertEquals(0, json("/console/api/query?match=" + encode("console_demo_temperature{room!~\"a\"}")).get("series").size());
        assertEquals(1, json("/console/api/query?match=console_demo_temperature%7Bjob%3D%22shop%22,room%3D%22a%22%7D&start="
                + (now - 3600)).get("series").size(), "a literal comma in the query, as curl -g sends it");

        HttpResponse<String> badSelector = get("/console/api/query?match=" + encode("up{job=\"x\""));
        assertEquals(400, badSelector.statusCode());
        assertTrue(badSelector.body().contains("bad series selector"), badSelector.body());
        HttpResponse<String> badRegex = get("/console/api/query?match=" + encode("up{job=~\"(\"}"));
        assertEquals(400, badRegex.statusCode(), badRegex.body());
        HttpResponse<String> tooMany = get("/console/api/query?match=" + encode("{job=\"shop\"}") + "&start=0&end=" + now);
        assertEquals(400, tooMany.statusCode(), "16 series, 135 samples: more than prom2pg.read.max-samples (130)");
        assertTrue(tooMany.body().contains("prom2pg.read.max-samples"), tooMany.body());
        HttpResponse<String> tooWide = get("/console/api/query?match=" + encode("{__name__=~\".+\"}") + "&start=0&end=" + now);
        assertEquals(400, tooWide.statusCode(), "more series than prom2pg.console.explore-max-series (20)");
        assertTrue(tooWide.body().contains("more than 20 series"), tooWide.body());
        HttpResponse<String> everything = get("/console/api/query?match=" + encode("{job=~\".*\"}"));
        assertEquals(400, everything.statusCode());
        assertTrue(everything.body().contains("does not match the empty string"), everything.body());
        assertEquals(400, get("/console/api/query?match=up&end=99999999999999999999").statusCode(), "a time past year 9999");
        assertEquals(400, get("/console/api/query?match=up&start=yesterday").statusCode());
    }

    @Test
    void should_cancel_a_console_query_at_its_statement_timeout_and_keep_answering_the_rest() throws Exception {
        try (Connection c = TestDatabase.connect(prom2pg.jdbcUrl())) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                // a DDL of another session holds the series table: every console read of it waits
                s.execute("LOCK TABLE " + prom2pg.schema + ".series IN ACCESS EXCLUSIVE MODE");
            }
            long t0 = System.nanoTime();
            HttpResponse<String> blocked = get("/console/api/cardinality?metric=console_demo_up");
            assertEquals(503, blocked.statusCode(), blocked.body());
            assertTrue(blocked.body().contains("took longer than prom2pg.console.statement-timeout-ms (1500 ms)"), blocked.body());
            assertTrue(System.nanoTime() - t0 < 8_000_000_000L, "cancelled at the timeout, not at the lock timeout");
            // three at once, two allowed (prom2pg.console.max-queries): the third is told so after a second
            List<CompletableFuture<HttpResponse<String>>> three = new ArrayList<>();
            for (String metric : new String[] {"a", "b", "c"}) {
                three.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prom2pg.httpPort
                        + "/console/api/cardinality?metric=" + metric)).GET().build(), HttpResponse.BodyHandlers.ofString()));
            }
            List<String> bodies = new ArrayList<>();
            for (CompletableFuture<HttpResponse<String>> r : three) {
                assertEquals(503, r.get().statusCode());
                bodies.add(r.get().body());
            }
            assertEquals(1, bodies.stream().filter(b -> b.contains("prom2pg.console.max-queries")).count(), bodies.toString());
            assertEquals(2, bodies.stream().filter(b -> b.contains("statement-timeout-ms")).count(), bodies.toString());
            JsonNode status = json("/console/api/status");
            assertTrue(status.get("database_error").asText().contains("statement-timeout-ms"), status.toString());
            assertTrue(status.at("/history/time").size() > 0, "the in-memory part still answers");
            c.rollback();
        }
        assertEquals(200, get("/console/api/cardinality?metric=console_demo_up").statusCode(), "the connections came back clean");
        assertTrue(json("/console/api/status").get("database_error").isNull());
    }

    private static double sum(JsonNode array) {
        double s = 0;
        for (JsonNode n : array) {
            s += n.asDouble();
        }
        return s;
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static JsonNode json(String path) throws Exception {
        HttpResponse<String> r = get(path);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), path);
        JsonNode node = JSON.readTree(r.body());
        assertNotNull(node);
        return node;
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prom2pg.httpPort + path))
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
