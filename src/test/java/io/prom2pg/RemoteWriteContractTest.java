package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The HTTP contract of remote write 1.0: status codes, bodies, and what is (not) stored. */
class RemoteWriteContractTest {

    static final long T0 = 1_795_493_709_123L;
    static final long STALE_NAN_BITS = 0x7ff0000000000002L;

    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("contract", Map.of());
    static final String jdbcUrl = prom2pg.jdbcUrl();

    @Test
    void should_answer_204_and_store_the_samples() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_stored", "job", "a").addSamples(sample(T0, 1.5)).addSamples(sample(T0 + 1000, 2.5)))
                .build();
        HttpResponse<String> response = RemoteWrite.post(prom2pg.writeUri(), request);
        assertEquals(204, response.statusCode());
        assertEquals("", response.body());
        assertFalse(response.headers().firstValue("Content-Encoding").isPresent(), "request headers are not echoed");
        assertEquals(List.of("1.5", "2.5"), values("test_stored"));
    }

    @Test
    void should_accept_the_predecessor_write_path() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_legacy_path").addSamples(sample(T0, 7)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.uri("/write"), request).statusCode());
        assertEquals(List.of("7.0"), values("test_legacy_path"));
    }

    @Test
    void should_add_nothing_when_a_request_is_retried() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_retried", "i", "1").addSamples(sample(T0, 1)).addSamples(sample(T0 + 15_000, 2)))
                .addTimeseries(series("__name__", "test_retried", "i", "2").addSamples(sample(T0, 3)))
                .build();
        double duplicatesBefore = prom2pg.metric("prom2pg_samples_rejected_total{reason=\"duplicate\"}");
        for (int i = 0; i < 3; i++) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        }
        assertEquals(3, count("test_retried"));
        assertEquals(2, TestDatabase.queryLong(jdbcUrl,
                "SELECT count(*) FROM " + prom2pg.schema + ".series WHERE metric_name = 'test_retried'"));
        assertEquals(duplicatesBefore + 6, prom2pg.metric("prom2pg_samples_rejected_total{reason=\"duplicate\"}"));
    }

    @Test
    void should_keep_nan_infinities_and_stale_markers_bit_exact() throws Exception {
        double stale = Double.longBitsToDouble(STALE_NAN_BITS);
        double[] values = {Double.NaN, stale, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, Double.MIN_VALUE, Double.MAX_VALUE};
        TimeSeries.Builder ts = series("__name__", "test_special_values");
        for (int i = 0; i < values.length; i++) {
            ts.addSamples(sample(T0 + i * 1000L, values[i]));
        }
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder().addTimeseries(ts).build()).statusCode());

        List<Long> bits = new ArrayList<>();
        try (Connection c = TestDatabase.connect(jdbcUrl);
             PreparedStatement ps = c.prepareStatement("SELECT float8send(value) FROM " + prom2pg.schema
                     + ".metrics WHERE name = ? ORDER BY time")) {
            ps.setString(1, "test_special_values");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    bits.add(ByteBuffer.wrap(rs.getBytes(1)).getLong());
                }
            }
        }
        List<Long> expected = new ArrayList<>();
        for (double v : values) {
            expected.add(Double.doubleToRawLongBits(v));
        }
        assertEquals(expected, bits);
        // the README's query for stale markers finds exactly the one
        assertEquals(1, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + prom2pg.schema
                + ".metrics WHERE name = 'test_special_values' AND float8send(value) = '\\x7ff0000000000002'::bytea"));
    }

    @Test
    void should_drop_empty_label_values_and_accept_unsorted_labels_as_one_series() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("job", "x", "__name__", "test_canonical", "empty", "").addSamples(sample(T0, 1)))
                .addTimeseries(series("__name__", "test_canonical", "job", "x").addSamples(sample(T0 + 1000, 2)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        assertEquals(1, TestDatabase.queryLong(jdbcUrl,
                "SELECT count(*) FROM " + prom2pg.schema + ".series WHERE metric_name = 'test_canonical' AND labels = '{\"job\":\"x\"}'"));
        assertEquals(2, count("test_canonical"));
    }

    @Test
    void should_store_late_and_early_samples_in_partitions_made_for_them() throws Exception {
        TestDatabase.assumeDayPartitions();
        long year2001 = 978_307_200_000L;   // 2001-01-01T00:00:00Z
        long year2040 = 2_208_988_800_000L; // 2040-01-01T00:00:00Z
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_partitions").addSamples(sample(year2001, 1)).addSamples(sample(year2040, 2)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        assertEquals(List.of("1.0", "2.0"), values("test_partitions"));
        assertEquals(1, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + prom2pg.schema + ".samples_20010101_0000"));
        assertEquals(1, TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM " + prom2pg.schema + ".samples_20400101_0000"));
    }

    @Test
    void should_create_partitions_ahead_of_the_data() throws Exception {
        TestDatabase.assumeDayPartitions();
        // the window an hour from now: before any sample of it (prom2pg.partitions.ahead-ms, 2 h)
        String tomorrow = java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd_HHmm").withZone(java.time.ZoneOffset.UTC)
                .format(java.time.Instant.ofEpochMilli((System.currentTimeMillis() + 3_600_000L) / 900_000L * 900_000L));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        long found = 0;
        while (found == 0 && System.nanoTime() < deadline) {
            found = TestDatabase.queryLong(jdbcUrl, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = '" + prom2pg.schema + "' AND c.relname = 'samples_" + tomorrow + "'");
            Thread.sleep(100);
        }
        assertEquals(1, found, "partition samples_" + tomorrow + " exists before any sample of that window");
    }

    @Test
    void should_answer_400_for_a_body_that_is_not_snappy() throws Exception {
        HttpResponse<String> response = RemoteWrite.postBody(prom2pg.writeUri(),
                new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1, 2, 3}, "application/x-protobuf");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().startsWith("body is not snappy block format"), response.body());
        assertEquals(1, response.body().strip().lines().count(), "one-line reason");
    }

    @Test
    void should_answer_400_for_an_empty_body() throws Exception {
        HttpResponse<String> response = RemoteWrite.postBody(prom2pg.writeUri(), new byte[0], "application/x-protobuf");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("empty body"), response.body());
    }

    @Test
    void should_answer_400_for_snappy_that_does_not_hold_protobuf() throws Exception {
        byte[] garbage = "this is not a protobuf message at all, just text".getBytes();
        HttpResponse<String> response = RemoteWrite.postBody(prom2pg.writeUri(), SnappyDataFormat.compress(garbage),
                "application/x-protobuf");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().startsWith("body is not a remote write protobuf message"), response.body());
        assertEquals(1, response.body().strip().lines().count(), response.body());
    }

    @Test
    void should_answer_400_for_an_empty_label_name_and_write_nothing_of_the_request() throws Exception {
        assertRejectedWhole("test_empty_name", series("__name__", "test_empty_name_bad", "", "v"), "empty name");
    }

    @Test
    void should_answer_400_for_a_repeated_label_name_and_write_nothing_of_the_request() throws Exception {
        assertRejectedWhole("test_repeated", series("__name__", "test_repeated_bad", "a", "1", "a", "2"), "repeated label name 'a'");
    }

    @Test
    void should_answer_400_for_a_missing_metric_name_and_write_nothing_of_the_request() throws Exception {
        assertRejectedWhole("test_no_name", series("job", "x"), "without a metric name");
    }

    @Test
    void should_answer_400_for_a_nul_character_in_a_label() throws Exception {
        assertRejectedWhole("test_nul", series("__name__", "test_nul_bad", "a", "x\0y"), "NUL character");
    }

    @Test
    void should_answer_400_for_a_label_value_longer_than_the_limit_and_store_it_verbatim_below() throws Exception {
        assertRejectedWhole("test_long_value", series("__name__", "test_long_value_bad", "a", "x".repeat(4097)),
                "prom2pg.limits.label-value-length (4096)");
        String sqlish = "'); DROP TABLE series; -- \"quoted\" \\ é 😀";
        WriteRequest verbatim = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_verbatim", "a", sqlish + "x".repeat(4000)).addSamples(sample(T0, 1)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), verbatim).statusCode());
        try (Connection c = TestDatabase.connect(jdbcUrl);
             PreparedStatement ps = c.prepareStatement("SELECT labels ->> 'a' FROM " + prom2pg.schema + ".series WHERE metric_name = ?")) {
            ps.setString(1, "test_verbatim");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertEquals(sqlish + "x".repeat(4000), rs.getString(1), "stored verbatim, never interpreted");
            }
        }
    }

    @Test
    void should_answer_400_for_more_labels_than_the_limit() throws Exception {
        String[] labels = new String[2 + 2 * 64];
        labels[0] = "__name__";
        labels[1] = "test_many_labels_bad";
        for (int i = 0; i < 64; i++) {
            labels[2 + 2 * i] = "l" + i;
            labels[3 + 2 * i] = "v";
        }
        assertRejectedWhole("test_many_labels", series(labels), "prom2pg.limits.labels-per-series (64)");
    }

    @Test
    void should_answer_400_for_a_timestamp_postgresql_cannot_hold() throws Exception {
        assertRejectedWhole("test_far_future", series("__name__", "test_far_future_bad").addSamples(sample(Long.MAX_VALUE, 1)),
                "outside the years 1 to 9999");
    }

    private void assertRejectedWhole(String goodName, TimeSeries.Builder bad, String reason) throws Exception {
        if (bad.getSamplesCount() == 0) {
            bad.addSamples(sample(T0, 1));
        }
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", goodName, "job", "good").addSamples(sample(T0, 1)))
                .addTimeseries(bad)
                .build();
        double invalidBefore = prom2pg.metric("prom2pg_samples_rejected_total{reason=\"invalid\"}");
        HttpResponse<String> response = RemoteWrite.post(prom2pg.writeUri(), request);
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains(reason), response.body());
        assertEquals(1, response.body().strip().lines().count(), "one-line reason: " + response.body());
        assertEquals(0, count(goodName), "the valid series of a rejected request is not written");
        assertEquals(0, TestDatabase.queryLong(jdbcUrl,
                "SELECT count(*) FROM " + prom2pg.schema + ".series WHERE metric_name LIKE '" + goodName + "%'"),
                "no series of a rejected request is created");
        assertEquals(invalidBefore + 2, prom2pg.metric("prom2pg_samples_rejected_total{reason=\"invalid\"}"));
    }

    @Test
    void should_answer_415_for_a_content_type_that_is_not_protobuf() throws Exception {
        byte[] body = SnappyDataFormat.compress(WriteRequest.getDefaultInstance().toByteArray());
        HttpResponse<String> json = RemoteWrite.postBody(prom2pg.writeUri(), body, "application/json");
        assertEquals(415, json.statusCode());
        assertTrue(json.body().contains("application/json"), json.body());
        assertEquals(415, RemoteWrite.postBody(prom2pg.writeUri(), body, null).statusCode());
        assertEquals(415, RemoteWrite.postBody(prom2pg.writeUri(), body,
                "application/x-protobuf;proto=io.prometheus.write.v3.Request").statusCode());
        assertEquals(204, RemoteWrite.postBody(prom2pg.writeUri(), body,
                "application/x-protobuf;proto=prometheus.WriteRequest").statusCode());
    }

    @Test
    void should_answer_415_for_a_content_encoding_that_is_not_snappy() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(prom2pg.writeUri())
                .header("Content-Type", "application/x-protobuf")
                .header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {1, 2, 3}))
                .build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(415, response.statusCode());
        assertTrue(response.body().contains("gzip"), response.body());
    }

    @Test
    void should_accept_bodies_far_above_one_mebibyte() throws Exception {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        String padding = "x".repeat(200);
        for (int i = 0; i < 20_000; i++) {
            request.addTimeseries(series("__name__", "test_big_body", "i", String.valueOf(i), "pad", padding + i)
                    .addSamples(sample(T0, i)));
        }
        byte[] raw = request.build().toByteArray();
        assertTrue(raw.length > 4 * 1024 * 1024, "decompressed body is " + raw.length + " bytes");
        HttpResponse<String> response = RemoteWrite.post(prom2pg.writeUri(), request.build());
        assertEquals(204, response.statusCode(), response.body());
        assertEquals(20_000, count("test_big_body"));
    }

    @Test
    void should_answer_413_when_the_decompressed_body_exceeds_the_limit() throws Exception {
        // a snappy header declaring 64 MiB, more than the 32 MiB default
        byte[] body = {(byte) 0x80, (byte) 0x80, (byte) 0x80, 0x20, 0x00};
        HttpResponse<String> response = RemoteWrite.postBody(prom2pg.writeUri(), body, "application/x-protobuf");
        assertEquals(413, response.statusCode());
        assertTrue(response.body().contains("prom2pg.http.max-body-bytes"), response.body());
    }

    @Test
    void should_answer_405_to_other_methods() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(prom2pg.writeUri()).GET().build();
        assertEquals(405, HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void should_count_samples_and_time_requests_in_prometheus_format() throws Exception {
        double received = prom2pg.metric("prom2pg_samples_received_total");
        double written = prom2pg.metric("prom2pg_samples_written_total");
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_counted", "a", "1").addSamples(sample(T0, 1)).addSamples(sample(T0 + 1, 2)))
                .addTimeseries(series("__name__", "test_counted", "a", "2").addSamples(sample(T0, 1)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        assertEquals(received + 3, prom2pg.metric("prom2pg_samples_received_total"));
        assertEquals(written + 3, prom2pg.metric("prom2pg_samples_written_total"));
        assertTrue(prom2pg.metric("prom2pg_series_cache_misses_total") >= 2);
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        assertTrue(prom2pg.metric("prom2pg_series_cache_hits_total") >= 2);
        String metrics = prom2pg.management("/observe/metrics").body();
        assertTrue(metrics.contains("prom2pg_request_duration_seconds_bucket{code=\"204\",handler=\"remote-write\""), metrics);
        assertTrue(metrics.contains("prom2pg_request_duration_seconds_count{code=\"204\",handler=\"remote-write\"}"));
    }

    @Test
    void should_report_live_and_ready_on_the_management_port() throws Exception {
        assertEquals(200, prom2pg.management("/observe/health/live").statusCode());
        HttpResponse<String> ready = prom2pg.management("/observe/health/ready");
        assertEquals(200, ready.statusCode(), ready.body());
    }

    private long count(String metric) throws Exception {
        try (Connection c = TestDatabase.connect(jdbcUrl);
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + prom2pg.schema + ".metrics WHERE name = ?")) {
            ps.setString(1, metric);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private List<String> values(String metric) throws Exception {
        List<String> values = new ArrayList<>();
        try (Connection c = TestDatabase.connect(jdbcUrl);
             PreparedStatement ps = c.prepareStatement("SELECT value FROM " + prom2pg.schema + ".metrics WHERE name = ? ORDER BY time")) {
            ps.setString(1, metric);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    values.add(String.valueOf(rs.getDouble(1)));
                }
            }
        }
        return values;
    }
}
