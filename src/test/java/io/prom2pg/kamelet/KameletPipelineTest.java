package io.prom2pg.kamelet;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.proto.RemoteWriteV2;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.TestDatabase;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped example route, {@code kamelet/examples/remote-write-to-postgresql.yaml}, run as a
 * user runs it: a Camel Main that loads the route, the two Kamelets from {@code kamelet/}, real
 * HTTP with real snappy and protobuf bodies in, the test PostgreSQL out.
 */
class KameletPipelineTest {

    static final String EXAMPLE = "kamelet/examples/remote-write-to-postgresql.yaml";
    static final String V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    static final long T0 = 1_795_493_709_123L;

    static String jdbcUrl;
    static String schema;
    static Pipeline pipeline;

    @BeforeAll
    static void start() throws Exception {
        jdbcUrl = TestDatabase.shared().jdbcUrl();
        schema = TestDatabase.newSchema("kamelet");
        pipeline = Pipeline.start(jdbcUrl, schema, Map.of());
        pipeline.awaitStoring(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() throws Exception {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    @Test
    void should_store_what_prometheus_sends_through_the_two_kamelets() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "kamelet_two_up", "job", "node", "instance", "a:9100")
                        .addSamples(sample(T0, 1)).addSamples(sample(T0 + 15_000, 0)))
                .addTimeseries(series("__name__", "kamelet_two_load1", "instance", "a:9100")
                        .addSamples(sample(T0, 0.25)))
                .build();
        HttpResponse<String> response = RemoteWrite.post(pipeline.writeUri(), request);
        assertEquals(204, response.statusCode(), response.body());
        assertEquals("", response.body());
        assertFalse(response.headers().firstValue("Content-Encoding").isPresent(), "request headers are not echoed");
        assertEquals(List.of(
                "kamelet_two_load1|{\"instance\": \"a:9100\"}|" + T0 + "|0.25",
                "kamelet_two_up|{\"job\": \"node\", \"instance\": \"a:9100\"}|" + T0 + "|1.0",
                "kamelet_two_up|{\"job\": \"node\", \"instance\": \"a:9100\"}|" + (T0 + 15_000) + "|0.0"),
                rows("kamelet\\_two\\_%"));
    }

    @Test
    void should_store_prometheus_2_42_bodies_as_the_exact_rows_they_contain_and_add_nothing_on_retry() throws Exception {
        String[] fixtures = {"rw_001.snappy.pb", "rw_002.snappy.pb", "rw_003.snappy.pb"};
        Set<String> expected = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (String fixture : fixtures) {
            HttpResponse<String> response = RemoteWrite.postBody(pipeline.writeUri(), RemoteWrite.fixture(fixture),
                    "application/x-protobuf");
            assertEquals(204, response.statusCode(), response.body());
            WriteRequest request = RemoteWrite.decodeFixture(fixture);
            expected.addAll(rowsOf(request));
            request.getTimeseriesList().forEach(ts -> names.add(metricName(ts)));
        }
        // Prometheus retries what it is not sure of: the samples already stored are skipped
        for (String fixture : fixtures) {
            assertEquals(204, RemoteWrite.postBody(pipeline.writeUri(), RemoteWrite.fixture(fixture),
                    "application/x-protobuf").statusCode());
        }
        List<String> stored = storedRows(names);
        assertEquals(expected.size(), stored.size(), "row count");
        assertEquals(expected, new HashSet<>(stored));
    }

    @Test
    void should_store_the_metadata_prometheus_sends() throws Exception {
        WriteRequest request = RemoteWrite.decodeFixture("rw_metadata_448.snappy.pb");
        HttpResponse<String> response = RemoteWrite.postBody(pipeline.writeUri(),
                RemoteWrite.fixture("rw_metadata_448.snappy.pb"), "application/x-protobuf");
        assertEquals(204, response.statusCode(), response.body());
        Map<String, String> expected = RemoteWrite.metadataOf(request);
        Map<String, String> stored = TestDatabase.storedMetadata(jdbcUrl, schema);
        stored.keySet().retainAll(expected.keySet()); // other tests of this class store metadata too
        assertEquals(expected.size(), request.getMetadataCount(), "the fixture names each family once");
        assertEquals(expected, stored);
    }

    @Test
    void should_store_remote_write_2_0_with_histograms_and_exemplars_and_say_what_was_written() throws Exception {
        RemoteWriteV2.Request request = RemoteWrite.v2WithHistogramAndExemplar("kamelet_v2_latency", T0);
        HttpResponse<String> response = RemoteWrite.postBody(pipeline.writeUri(),
                SnappyDataFormat.compress(request.toByteArray()), V2);
        assertEquals(204, response.statusCode(), response.body());
        assertEquals("2", response.headers().firstValue("X-Prometheus-Remote-Write-Samples-Written").orElse(null));
        assertEquals("1", response.headers().firstValue("X-Prometheus-Remote-Write-Histograms-Written").orElse(null));
        assertEquals("1", response.headers().firstValue("X-Prometheus-Remote-Write-Exemplars-Written").orElse(null));
        assertEquals(List.of(
                "kamelet_v2_latency|{\"job\": \"x\"}|" + T0 + "|3.0",
                "kamelet_v2_latency|{\"job\": \"x\"}|" + (T0 + 15_000) + "|4.0"),
                rows("kamelet\\_v2\\_latency"));
        assertEquals(1, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + schema + ".native_histograms"
                + " WHERE name = 'kamelet_v2_latency' AND count_int = 7 AND sum = 12.5 AND positive_deltas = '{7}'"));
        assertEquals(1, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + schema + ".exemplars_view"
                + " WHERE name = 'kamelet_v2_latency' AND value = 0.42 AND exemplar_labels ->> 'trace_id' = 'abc'"));
    }

    @Test
    void should_answer_400_for_a_body_that_is_not_snappy_and_store_nothing() throws Exception {
        long before = TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + schema + ".samples");
        HttpResponse<String> response = RemoteWrite.postBody(pipeline.writeUri(),
                new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1, 2, 3}, "application/x-protobuf");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().startsWith("body is not snappy block format"), response.body());
        assertEquals(1, response.body().strip().lines().count(), "one-line reason");
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        assertEquals(before, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + schema + ".samples"));
    }

    @Test
    void should_answer_400_when_the_sink_refuses_a_request_and_store_nothing_of_it() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "kamelet_refused_good", "job", "good").addSamples(sample(T0, 1)))
                .addTimeseries(series("job", "no metric name").addSamples(sample(T0, 2)))
                .build();
        HttpResponse<String> response = RemoteWrite.post(pipeline.writeUri(), request);
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("without a metric name"), response.body());
        assertEquals(List.of(), rows("kamelet\\_refused%"), "the valid series of a refused request is not stored");
        assertEquals(0, TestDatabase.queryLong(jdbcUrl,
                "SELECT count(*) FROM " + schema + ".series WHERE metric_name LIKE 'kamelet\\_refused%'"));
    }

    @Test
    void should_answer_415_for_a_body_that_is_not_snappy_remote_write_protobuf() throws Exception {
        byte[] body = SnappyDataFormat.compress(WriteRequest.getDefaultInstance().toByteArray());
        HttpResponse<String> json = RemoteWrite.postBody(pipeline.writeUri(), body, "application/json");
        assertEquals(415, json.statusCode());
        assertTrue(json.body().contains("application/json"), json.body());
        assertEquals(415, RemoteWrite.postBody(pipeline.writeUri(), body,
                "application/x-protobuf;proto=io.prometheus.write.v3.Request").statusCode());
        HttpRequest gzip = HttpRequest.newBuilder(pipeline.writeUri()).header("Content-Type", V2)
                .header("Content-Encoding", "gzip").POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {1})).build();
        HttpResponse<String> unsupported = HttpClient.newHttpClient().send(gzip, HttpResponse.BodyHandlers.ofString());
        assertEquals(415, unsupported.statusCode());
        assertTrue(unsupported.body().contains("gzip"), unsupported.body());
        assertEquals("0", unsupported.headers().firstValue("X-Prometheus-Remote-Write-Samples-Written").orElse(null),
                "a 4xx answer to a 2.0 sender says nothing was written");
    }

    @Test
    void should_answer_413_for_a_body_that_decompresses_past_the_limit() throws Exception {
        // a snappy header declaring 64 MiB, more than the 32 MiB default
        byte[] body = {(byte) 0x80, (byte) 0x80, (byte) 0x80, 0x20, 0x00};
        HttpResponse<String> response = RemoteWrite.postBody(pipeline.writeUri(), body, "application/x-protobuf");
        assertEquals(413, response.statusCode(), response.body());
    }

    @Test
    void should_answer_405_to_other_methods() throws Exception {
        HttpRequest get = HttpRequest.newBuilder(pipeline.writeUri()).GET().build();
        assertEquals(405, HttpClient.newHttpClient().send(get, HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void should_store_one_replica_of_a_prometheus_ha_pair_and_make_the_other_retry_while_it_is_ahead() throws Exception {
        assertEquals(204, RemoteWrite.post(pipeline.writeUri(), haRequest("prometheus-k8s-0", T0, 1)).statusCode(),
                "the leader's request is stored");
        assertEquals(204, RemoteWrite.post(pipeline.writeUri(), haRequest("prometheus-k8s-1", T0, 2)).statusCode(),
                "the other replica's copy of what the leader stored is accepted");
        HttpResponse<String> ahead = RemoteWrite.post(pipeline.writeUri(), haRequest("prometheus-k8s-1", T0 + 60_000, 3));
        assertEquals(503, ahead.statusCode(), "samples newer than the leader stored are retried: " + ahead.body());
        assertTrue(ahead.headers().firstValue("Retry-After").isPresent());
        assertEquals(List.of("kamelet_ha|{\"prometheus\": \"kamelet/k8s\"}|" + T0 + "|1.0"), rows("kamelet\\_ha"),
                "the leader's copy only, without the replica label");
    }

    private static WriteRequest haRequest(String replica, long time, double value) {
        return WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "kamelet_ha", "prometheus", "kamelet/k8s", "prometheus_replica", replica)
                        .addSamples(sample(time, value)))
                .build();
    }

    @Test
    void should_answer_503_with_retry_after_while_postgresql_cannot_take_the_write() throws Exception {
        int nothingListens = Ports.free();
        try (Pipeline down = Pipeline.start("jdbc:postgresql://127.0.0.1:" + nothingListens + "/postgres", "kamelet_down",
                Map.of())) {
            WriteRequest request = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "kamelet_down").addSamples(sample(T0, 1)))
                    .build();
            HttpResponse<String> response = RemoteWrite.post(down.writeUri(), request);
            assertEquals(503, response.statusCode(), response.body());
            assertEquals("5", response.headers().firstValue("Retry-After").orElse(null));
            assertTrue(response.body().contains("not ready"), response.body());
        }
    }

    @Test
    void should_let_go_of_its_port_and_connections_when_stopped() throws Exception {
        // its connections carry a name of their own, so that no other connection is counted; this
        // also shows that a JDBC URL with several parameters reaches the sink whole
        String application = "kamelet-stopped";
        String url = jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "ApplicationName=" + application;
        Pipeline other = Pipeline.start(url, TestDatabase.newSchema("kamelet"), Map.of());
        try {
            other.awaitStoring(Duration.ofSeconds(60));
            assertTrue(connections(application) > 0, "the pipeline holds connections of its own");
        } finally {
            other.close();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (connections(application) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(0, connections(application), "its connections are closed");
        try (ServerSocket s = new ServerSocket(other.port)) {
            assertTrue(s.isBound(), "its port is free again");
        }
    }

    private static long connections(String application) throws Exception {
        return TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application + "'");
    }

    private static List<String> rows(String namePattern) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Connection c = TestDatabase.connect(jdbcUrl);
             PreparedStatement ps = c.prepareStatement("SELECT name, labels::text, (extract(epoch FROM time) * 1000)::int8, value"
                     + " FROM " + schema + ".metrics WHERE name LIKE ? ORDER BY name, time")) {
            ps.setString(1, namePattern);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getLong(3) + "|" + rs.getDouble(4));
                }
            }
        }
        return rows;
    }

    private static String metricName(TimeSeries ts) {
        for (Label l : ts.getLabelsList()) {
            if (l.getName().equals("__name__")) {
                return l.getValue();
            }
        }
        return null;
    }

    /** One string per sample: name, labels (sorted, no __name__, no empty values), time, value bits. */
    private static List<String> rowsOf(WriteRequest request) {
        List<String> rows = new ArrayList<>();
        for (TimeSeries ts : request.getTimeseriesList()) {
            TreeMap<String, String> labels = new TreeMap<>();
            for (Label l : ts.getLabelsList()) {
                if (!l.getName().equals("__name__") && !l.getValue().isEmpty()) {
                    labels.put(l.getName(), l.getValue());
                }
            }
            StringBuilder ls = new StringBuilder();
            labels.forEach((k, v) -> ls.append(ls.length() == 0 ? "" : ",").append(k).append('=').append(v));
            for (io.prom2pg.proto.RemoteWriteV1.Sample s : ts.getSamplesList()) {
                rows.add(metricName(ts) + "|" + ls + "|" + s.getTimestamp() + "|"
                        + Long.toHexString(Double.doubleToRawLongBits(s.getValue())));
            }
        }
        return rows;
    }

    private static List<String> storedRows(Set<String> names) throws Exception {
        String sql = "SELECT se.metric_name,"
                + " coalesce((SELECT string_agg(key || '=' || value, ',' ORDER BY key COLLATE \"C\") FROM jsonb_each_text(se.labels)), ''),"
                + " (extract(epoch FROM s.time) * 1000)::int8, float8send(s.value)"
                + " FROM " + schema + ".samples s JOIN " + schema + ".series se ON se.id = s.series_id"
                + " WHERE se.metric_name = ANY (?)";
        List<String> rows = new ArrayList<>();
        try (Connection c = TestDatabase.connect(jdbcUrl); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long bits = ByteBuffer.wrap(rs.getBytes(4)).getLong();
                    rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getLong(3) + "|" + Long.toHexString(bits));
                }
            }
        }
        return rows;
    }

    /** The example route in a Camel Main of its own, on a free port of the loopback interface. */
    static final class Pipeline implements AutoCloseable {
        final Main main;
        final int port;

        private Pipeline(Main main, int port) {
            this.main = main;
            this.port = port;
        }

        static Pipeline start(String jdbcUrl, String schema, Map<String, String> extra) throws Exception {
            int port = Ports.free();
            Main main = new Main();
            // only what the example needs, not prom2pg's own application.properties
            main.setDefaultPropertyPlaceholderLocation("false");
            main.configure().withRoutesIncludePattern("file:" + EXAMPLE);
            main.addOverrideProperty("camel.main.name", "kamelet-pipeline");
            main.addOverrideProperty("camel.component.kamelet.location", "file:kamelet");
            main.addOverrideProperty("remote-write.host", "127.0.0.1");
            main.addOverrideProperty("remote-write.port", String.valueOf(port));
            main.addOverrideProperty("postgresql.jdbc-url", jdbcUrl);
            main.addOverrideProperty("postgresql.username", "postgres");
            // the embedded server trusts local connections: any password will do
            main.addOverrideProperty("postgresql.password", "unused");
            main.addOverrideProperty("postgresql.schema", schema);
            extra.forEach(main::addOverrideProperty);
            main.start();
            return new Pipeline(main, port);
        }

        URI writeUri() {
            return URI.create("http://127.0.0.1:" + port + "/api/v1/write");
        }

        /** Waits until an empty request is answered 204, that is until the schema is migrated. */
        Pipeline awaitStoring(Duration timeout) throws Exception {
            byte[] empty = SnappyDataFormat.compress(new byte[0]);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                HttpResponse<String> r = RemoteWrite.postBody(writeUri(), empty, "application/x-protobuf");
                if (r.statusCode() == 204) {
                    return this;
                }
                if (r.statusCode() != 503 || System.nanoTime() > deadline) {
                    throw new AssertionError("pipeline not storing: " + r.statusCode() + " " + r.body());
                }
                Thread.sleep(100);
            }
        }

        @Override
        public void close() throws Exception {
            main.stop();
        }
    }
}
