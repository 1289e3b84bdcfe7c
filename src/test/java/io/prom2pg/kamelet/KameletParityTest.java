package io.prom2pg.kamelet;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.proto.RemoteWriteV2;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kamelets cannot drift from prom2pg's own pipeline: their steps are the ingest route's
 * steps, and the same requests (Prometheus 2.42's bodies, remote write 2.0, every class of
 * refusal, an HA pair, overload, a locked table) sent to prom2pg and to the Kamelet example route
 * get the same answers and leave the same rows.
 */
class KameletParityTest {

    static final String V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    static final long T0 = 1_795_493_709_123L;

    static String jdbcUrl;
    static RunningProm2pg app;
    static KameletPipelineTest.Pipeline kamelets;
    static String kameletSchema;

    /** The same settings on both sides: a short HA follower wait, one request in flight, short lock waits. */
    @BeforeAll
    static void start() throws Exception {
        jdbcUrl = TestDatabase.shared().jdbcUrl();
        app = RunningProm2pg.start(jdbcUrl, TestDatabase.newSchema("parity_app"), Map.of(
                "prom2pg.ha.follower-wait-ms", "300",
                "prom2pg.limits.max-requests-in-flight", "1",
                "prom2pg.limits.max-wait-ms", "0",
                "prom2pg.db.lock-timeout-ms", "500"));
        kameletSchema = TestDatabase.newSchema("parity_kamelet");
        kamelets = KameletPipelineTest.Pipeline.start(jdbcUrl, kameletSchema, Map.of(
                "camel.kamelet.prom2pg-postgresql-sink.haFollowerWaitMillis", "300",
                "camel.kamelet.prom2pg-postgresql-sink.lockTimeoutMillis", "500",
                "camel.kamelet.prometheus-remote-write-source.maxRequestsInFlight", "1",
                "camel.kamelet.prometheus-remote-write-source.maxWaitMillis", "0"));
        kamelets.awaitStoring(java.time.Duration.ofSeconds(60));
        app.awaitReady(java.time.Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() throws Exception {
        if (kamelets != null) {
            kamelets.close();
        }
        if (app != null) {
            app.close();
        }
    }

    @Test
    void should_run_the_ingest_routes_steps_in_the_two_kamelets() throws Exception {
        List<String> route = steps(ingestRoute().path("from").path("steps"));
        List<String> source = steps(kamelet("prometheus-remote-write-source").path("spec").path("template").path("from")
                .path("steps").get(0).path("doTry").path("steps"));
        List<String> sink = steps(kamelet("prom2pg-postgresql-sink").path("spec").path("template").path("from").path("steps"));
        int to = source.indexOf("to kamelet:sink");
        List<String> pair = new ArrayList<>(source.subList(0, to));
        pair.addAll(sink);
        pair.addAll(source.subList(to + 1, source.size()));
        // prom2pg's data port authenticates first; the Kamelet source has no authentication
        assertEquals("bean authenticator.check", route.get(0));
        assertEquals(route.subList(1, route.size()), pair);
    }

    @Test
    void should_answer_and_store_prometheus_2_42_bodies_retries_and_metadata_alike() throws Exception {
        for (String fixture : List.of("rw_001.snappy.pb", "rw_002.snappy.pb", "rw_003.snappy.pb", "rw_001.snappy.pb",
                "rw_metadata_448.snappy.pb")) {
            same(fixture, post(RemoteWrite.fixture(fixture), "application/x-protobuf"));
        }
        assertSameRows("SELECT s.labels::text || '|' || (extract(epoch FROM m.time) * 1000)::bigint || '|' || m.value::text"
                + " FROM %s.samples m JOIN %s.series s ON s.id = m.series_id");
        assertSameRows("SELECT metric_family_name || '|' || type || '|' || help || '|' || unit FROM %s.metric_metadata");
    }

    @Test
    void should_answer_remote_write_2_0_with_the_same_counts_and_rows() throws Exception {
        RemoteWriteV2.Request request = RemoteWrite.v2WithHistogramAndExemplar("parity_v2", T0);
        Map<String, String> answer = same("remote write 2.0", post(SnappyDataFormat.compress(request.toByteArray()), V2));
        assertEquals("204", answer.get("status"));
        assertEquals("1", answer.get("x-prometheus-remote-write-histograms-written"));
        same("remote write 2.0, invalid", post(SnappyDataFormat.compress(RemoteWriteV2.Request.newBuilder()
                .addSymbols("x").build().toByteArray()), V2));
        assertSameRows("SELECT count_int || '|' || sum || '|' || positive_deltas::text FROM %s.histograms");
        assertSameRows("SELECT value || '|' || labels::text FROM %s.exemplars");
    }

    @Test
    void should_refuse_bad_requests_with_the_same_status_reason_and_headers() throws Exception {
        WriteRequest one = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "parity_refused").addSamples(sample(T0, 1))).build();
        same("not snappy", post(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1, 2, 3},
                "application/x-protobuf"));
        same("not protobuf", post(SnappyDataFormat.compress("not a protobuf message".getBytes()), "application/x-protobuf"));
        same("another Content-Type", post(SnappyDataFormat.compress(one.toByteArray()), "application/json"));
        same("another message", post(SnappyDataFormat.compress(one.toByteArray()),
                "application/x-protobuf;proto=io.prometheus.write.v3.Request"));
        same("another encoding", send(HttpRequest.newBuilder().POST(HttpRequest.BodyPublishers.ofByteArray(one.toByteArray()))
                .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "gzip")));
        same("too large", post(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, 0x20, 0x00}, "application/x-protobuf"));
        same("a label value too long", post(SnappyDataFormat.compress(WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "parity_long", "v", "x".repeat(5000)).addSamples(sample(T0, 1)))
                .build().toByteArray()), "application/x-protobuf"));
        same("a time after the year 9999", post(SnappyDataFormat.compress(WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "parity_late").addSamples(sample(300_000_000_000_000L, 1)))
                .build().toByteArray()), "application/x-protobuf"));
        same("another method", send(HttpRequest.newBuilder().GET()));
        for (String schema : List.of(app.schema, kameletSchema)) {
            assertEquals(0, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + schema + ".series"
                    + " WHERE metric_name IN ('parity_refused', 'parity_long', 'parity_late')"), schema + ": nothing refused is stored");
        }
    }

    @Test
    void should_store_one_replica_of_an_ha_pair_and_make_the_other_retry_alike() throws Exception {
        same("leader", post(ha("parity-0", T0, 1), "application/x-protobuf"));
        same("follower, covered", post(ha("parity-1", T0 + 2, 2), "application/x-protobuf"));
        Map<String, String> ahead = same("follower, ahead", post(ha("parity-1", T0 + 60_000, 3), "application/x-protobuf"));
        assertEquals("503", ahead.get("status"));
        assertEquals("1", ahead.get("retry-after"));
        assertSameRows("SELECT s.labels::text || '|' || m.value FROM %s.samples m JOIN %s.series s ON s.id = m.series_id"
                + " WHERE s.metric_name = 'parity_ha'");
    }

    @Test
    void should_answer_503_while_a_table_is_locked_alike() throws Exception {
        byte[] body = SnappyDataFormat.compress(WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "parity_locked").addSamples(sample(T0, 1))).build().toByteArray());
        List<Map<String, String>> answers = new ArrayList<>();
        for (String schema : List.of(app.schema, kameletSchema)) {
            try (Connection c = TestDatabase.connect(jdbcUrl); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("LOCK TABLE " + schema + ".series IN ACCESS EXCLUSIVE MODE");
                answers.add(answer(send(schema.equals(app.schema) ? app.writeUri() : kamelets.writeUri(), body,
                        "application/x-protobuf")));
                c.rollback();
            }
        }
        assertEquals("503", answers.get(0).get("status"), answers.get(0).toString());
        assertTrue(answers.get(0).get("body").startsWith("503 ROUTE: storage unavailable, retry later: "), answers.get(0).toString());
        assertEquals(answers.get(0), answers.get(1));
    }

    @Test
    void should_refuse_what_is_past_the_in_flight_bounds_alike() throws Exception {
        byte[] body = RemoteWrite.fixture("rw_002.snappy.pb");
        List<Map<String, String>> overloaded = new ArrayList<>();
        for (URI uri : List.of(app.writeUri(), kamelets.writeUri())) {
            ExecutorService senders = Executors.newFixedThreadPool(8);
            try {
                List<Future<HttpResponse<String>>> sent = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    sent.add(senders.submit(() -> send(uri, body, "application/x-protobuf")));
                }
                Map<String, String> refused = null;
                for (Future<HttpResponse<String>> f : sent) {
                    Map<String, String> a = answer(f.get());
                    assertTrue(a.get("status").equals("204") || a.get("status").equals("503"), a.toString());
                    if (a.get("status").equals("503")) {
                        refused = a;
                    }
                }
                assertTrue(refused != null, uri + ": 40 requests at once, one allowed in flight, none refused");
                overloaded.add(refused);
            } finally {
                senders.shutdownNow();
            }
        }
        assertTrue(overloaded.get(0).get("body").startsWith("503 ROUTE: overloaded: 1 requests in flight"), overloaded.toString());
        assertEquals(overloaded.get(0), overloaded.get(1));
    }

    private static byte[] ha(String replica, long time, double value) {
        return SnappyDataFormat.compress(WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "parity_ha", "prometheus", "parity/k8s", "prometheus_replica", replica)
                        .addSamples(sample(time, value)))
                .build().toByteArray());
    }

    /** One request, sent to prom2pg and to the Kamelets; their answers, which must be the same. */
    private record Sent(HttpResponse<String> app, HttpResponse<String> kamelets) {
    }

    private static Sent post(byte[] body, String contentType) throws Exception {
        return new Sent(send(app.writeUri(), body, contentType), send(kamelets.writeUri(), body, contentType));
    }

    private static Sent send(HttpRequest.Builder request) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        return new Sent(http.send(request.copy().uri(app.writeUri()).build(), HttpResponse.BodyHandlers.ofString()),
                http.send(request.copy().uri(kamelets.writeUri()).build(), HttpResponse.BodyHandlers.ofString()));
    }

    private static HttpResponse<String> send(URI uri, byte[] body, String contentType) throws Exception {
        return RemoteWrite.postBody(uri, body, contentType);
    }

    private static Map<String, String> same(String what, Sent sent) {
        Map<String, String> expected = answer(sent.app());
        assertEquals(expected, answer(sent.kamelets()), what + ": the Kamelets answer as prom2pg does");
        return expected;
    }

    /** Status, prom2pg's own headers and the body, with the HTTP route's id (which differs) as ROUTE. */
    private static Map<String, String> answer(HttpResponse<String> response) {
        Map<String, String> a = new TreeMap<>();
        a.put("status", String.valueOf(response.statusCode()));
        response.headers().map().forEach((name, values) -> {
            String n = name.toLowerCase(java.util.Locale.ROOT);
            if (n.startsWith("x-prometheus-") || n.equals("retry-after") || n.equals("content-type")
                    || n.equals("content-encoding") || n.equals("www-authenticate")) {
                a.put(n, String.join(",", values));
            }
        });
        a.put("body", response.body().replaceFirst("^(\\d{3}) [^ :]+: ", "$1 ROUTE: "));
        return a;
    }

    /** The query (with %s for the schema) gives the same rows in prom2pg's schema and the Kamelets'. */
    private static void assertSameRows(String query) throws Exception {
        TreeSet<String> expected = rows(query.replace("%s", app.schema).replace("%%", "%"));
        assertTrue(!expected.isEmpty(), "rows of " + query);
        assertEquals(expected, rows(query.replace("%s", kameletSchema).replace("%%", "%")), query);
    }

    private static TreeSet<String> rows(String sql) throws Exception {
        return new TreeSet<>(TestDatabase.queryStrings(jdbcUrl, sql));
    }

    private static JsonNode ingestRoute() throws Exception {
        for (JsonNode doc : CamelYamlDsl.YAML.readTree(Files.readString(Path.of("routes/remote-write.yaml")))) {
            if (doc.path("route").path("id").asText().equals("ingest-remote-write")) {
                return doc.path("route");
            }
        }
        throw new AssertionError("routes/remote-write.yaml has no route ingest-remote-write");
    }

    private static JsonNode kamelet(String name) throws Exception {
        return CamelYamlDsl.YAML.readTree(Files.readString(Path.of("kamelet", name + ".kamelet.yaml")));
    }

    /** Each step as "kind bean.method", "setProperty name = bean.method", "unmarshal bean" or "to uri"; Kamelet refs unwrapped. */
    private static List<String> steps(JsonNode steps) {
        List<String> list = new ArrayList<>();
        for (JsonNode step : steps) {
            String kind = step.fieldNames().next();
            JsonNode s = step.path(kind);
            String text = switch (kind) {
                case "bean" -> "bean " + ref(s.path("ref")) + "." + s.path("method").asText();
                case "setProperty" -> "setProperty " + s.path("name").asText() + " = " + ref(s.path("method").path("ref"))
                        + "." + s.path("method").path("method").asText();
                case "unmarshal" -> "unmarshal " + ref(s.path("custom").path("ref"));
                case "to" -> "to " + (s.isTextual() ? s.asText() : s.path("uri").asText());
                default -> kind + " " + s;
            };
            list.add(text);
        }
        return list;
    }

    private static String ref(JsonNode ref) {
        return ref.asText().replace("{{", "").replace("}}", "");
    }
}
