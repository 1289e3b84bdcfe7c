package io.prom2pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.proto.RemoteWriteV2.BucketSpan;
import io.prom2pg.proto.RemoteWriteV2.Exemplar;
import io.prom2pg.proto.RemoteWriteV2.Histogram;
import io.prom2pg.proto.RemoteWriteV2.Metadata;
import io.prom2pg.proto.RemoteWriteV2.Request;
import io.prom2pg.proto.RemoteWriteV2.Sample;
import io.prom2pg.proto.RemoteWriteV2.TimeSeries;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Remote write 2.0 on the same endpoint: symbols, samples, metadata, and the written-counts headers. */
class RemoteWriteV2Test {

    static final String V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    static final long T0 = 1_795_493_700_000L;
    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("v2", Map.of("prom2pg.ha.timeout-ms", "1500",
            "prom2pg.ha.follower-wait-ms", "300"));
    static final String url = prom2pg.jdbcUrl();

    @Test
    void should_store_samples_and_metadata_and_say_how_many_were_written() throws Exception {
        Symbols s = new Symbols();
        Request request = Request.newBuilder()
                .addTimeseries(TimeSeries.newBuilder()
                        .addAllLabelsRefs(s.refs("__name__", "test_v2_requests_total", "job", "api"))
                        .addSamples(Sample.newBuilder().setTimestamp(T0).setValue(1))
                        .addSamples(Sample.newBuilder().setTimestamp(T0 + 15_000).setValue(3))
                        .setMetadata(Metadata.newBuilder().setType(Metadata.MetricType.METRIC_TYPE_COUNTER)
                                .setHelpRef(s.ref("Requests served.")).setUnitRef(s.ref("requests")))
                        .setCreatedTimestamp(T0 - 60_000))
                .addTimeseries(TimeSeries.newBuilder()
                        .addAllLabelsRefs(s.refs("__name__", "test_v2_requests_total", "job", "db"))
                        .addSamples(Sample.newBuilder().setTimestamp(T0).setValue(7)))
                .addAllSymbols(s.table())
                .build();
        HttpResponse<String> response = post(request, V2);
        assertEquals(204, response.statusCode(), response.body());
        assertEquals("3", response.headers().firstValue("X-Prometheus-Remote-Write-Samples-Written").orElse(null));
        assertEquals("0", response.headers().firstValue("X-Prometheus-Remote-Write-Histograms-Written").orElse(null));
        assertEquals("0", response.headers().firstValue("X-Prometheus-Remote-Write-Exemplars-Written").orElse(null));
        assertEquals(3, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                + ".metrics WHERE name = 'test_v2_requests_total'"));
        assertEquals(11, TestDatabase.queryLong(url, "SELECT sum(value) FROM " + prom2pg.schema
                + ".metrics WHERE name = 'test_v2_requests_total'"));
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema + ".metric_metadata"
                + " WHERE metric_family_name = 'test_v2_requests_total' AND type = 'counter'"
                + " AND help = 'Requests served.' AND unit = 'requests'"));
    }

    @Test
    void should_store_a_series_sent_with_1_0_and_2_0_as_one_series() throws Exception {
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder()
                .addTimeseries(RemoteWrite.series("__name__", "test_v2_both", "job", "x").addSamples(RemoteWrite.sample(T0, 1)))
                .build()).statusCode());
        Symbols s = new Symbols();
        Request v2 = Request.newBuilder()
                .addTimeseries(TimeSeries.newBuilder().addAllLabelsRefs(s.refs("__name__", "test_v2_both", "job", "x"))
                        .addSamples(Sample.newBuilder().setTimestamp(T0 + 1000).setValue(2)))
                .addAllSymbols(s.table()).build();
        assertEquals(204, post(v2, V2).statusCode());
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                + ".series WHERE metric_name = 'test_v2_both'"));
        assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                + ".metrics WHERE name = 'test_v2_both'"));
    }

    @Test
    void should_store_native_histograms_exemplars_and_start_times_losslessly() throws Exception {
        Symbols s = new Symbols();
        long stale = 0x7ff0000000000002L;
        Request request = Request.newBuilder()
                .addTimeseries(TimeSeries.newBuilder().addAllLabelsRefs(s.refs("__name__", "test_v2_latency", "job", "x"))
                        .addHistograms(Histogram.newBuilder().setCountInt(7).setSum(12.5).setSchema(3).setZeroThreshold(1e-128)
                                .setZeroCountInt(1).setTimestamp(T0)
                                .addPositiveSpans(BucketSpan.newBuilder().setOffset(-2).setLength(2))
                                .addPositiveSpans(BucketSpan.newBuilder().setOffset(3).setLength(1))
                                .addAllPositiveDeltas(List.of(2L, -1L, 3L))
                                .setResetHint(Histogram.ResetHint.RESET_HINT_NO))
                        .addHistograms(Histogram.newBuilder().setCountFloat(2.5).setSum(Double.longBitsToDouble(stale))
                                .setSchema(-53).setTimestamp(T0 + 15_000)
                                .addPositiveSpans(BucketSpan.newBuilder().setOffset(0).setLength(2))
                                .addAllPositiveCounts(List.of(1.5, 1.0)).addAllCustomValues(List.of(0.1, 0.5)))
                        .addExemplars(Exemplar.newBuilder().addAllLabelsRefs(s.refs("trace_id", "abc123"))
                                .setValue(0.42).setTimestamp(T0 - 10))
                        .setCreatedTimestamp(T0 - 3_600_000))
                .addTimeseries(TimeSeries.newBuilder().addAllLabelsRefs(s.refs("__name__", "test_v2_counter_total"))
                        .addSamples(Sample.newBuilder().setTimestamp(T0).setValue(5).setStartTimestamp(T0 - 60_000)))
                .addAllSymbols(s.table()).build();
        HttpResponse<String> response = post(request, V2);
        assertEquals(204, response.statusCode(), response.body());
        assertEquals("1", response.headers().firstValue("X-Prometheus-Remote-Write-Samples-Written").orElse(null));
        assertEquals("2", response.headers().firstValue("X-Prometheus-Remote-Write-Histograms-Written").orElse(null));
        assertEquals("1", response.headers().firstValue("X-Prometheus-Remote-Write-Exemplars-Written").orElse(null));

        String h = prom2pg.schema + ".native_histograms WHERE name = 'test_v2_latency'";
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + h + " AND count_int = 7 AND count_float IS NULL"
                + " AND sum = 12.5 AND schema = 3 AND zero_count_int = 1 AND positive_spans = '{-2,2,3,1}'"
                + " AND positive_deltas = '{2,-1,3}' AND reset_hint = 2 AND negative_spans = '{}'"));
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + h + " AND count_int IS NULL AND count_float = 2.5"
                + " AND schema = -53 AND positive_counts = '{1.5,1}' AND custom_values = '{0.1,0.5}'"
                + " AND float8send(sum) = '\\x7ff0000000000002'::bytea"), "float histogram, stale marker sum kept bit for bit");
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema + ".exemplars_view"
                + " WHERE name = 'test_v2_latency' AND value = 0.42 AND exemplar_labels = '{\"trace_id\": \"abc123\"}'"));
        assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema + ".series_starts st JOIN "
                + prom2pg.schema + ".series se ON se.id = st.series_id"
                + " WHERE se.metric_name IN ('test_v2_latency', 'test_v2_counter_total')"
                + " AND st.start_time IN (to_timestamp(" + (T0 - 3_600_000) + " / 1000.0), to_timestamp(" + (T0 - 60_000) + " / 1000.0))"));
        // a retry adds nothing
        assertEquals(204, post(request, V2).statusCode());
        assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + h));
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema + ".exemplars"));
    }

    @Test
    void should_store_remote_write_1_0_histograms_and_exemplars_in_the_same_tables() throws Exception {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(RemoteWrite.series("__name__", "test_v1_latency", "job", "y")
                        .addHistograms(Histogram.newBuilder().setCountInt(3).setSum(0.75).setSchema(0).setTimestamp(T0)
                                .addPositiveSpans(BucketSpan.newBuilder().setOffset(0).setLength(1)).addPositiveDeltas(3))
                        .addExemplars(io.prom2pg.proto.RemoteWriteV1.Exemplar.newBuilder()
                                .addLabels(io.prom2pg.proto.RemoteWriteV1.Label.newBuilder().setName("trace_id").setValue("t1"))
                                .setValue(0.2).setTimestamp(T0)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                + ".native_histograms WHERE name = 'test_v1_latency' AND count_int = 3 AND positive_deltas = '{3}'"));
        assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                + ".exemplars_view WHERE name = 'test_v1_latency' AND exemplar_labels ->> 'trace_id' = 't1'"));
    }

    @Test
    void should_answer_400_for_broken_symbol_tables_and_415_for_unknown_messages() throws Exception {
        Request badRef = Request.newBuilder().addSymbols("").addSymbols("__name__")
                .addTimeseries(TimeSeries.newBuilder().addLabelsRefs(1).addLabelsRefs(9)
                        .addSamples(Sample.newBuilder().setTimestamp(T0).setValue(1)))
                .build();
        HttpResponse<String> response = post(badRef, V2);
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("outside the symbols table"), response.body());
        assertTrue(response.headers().firstValue("X-Prometheus-Remote-Write-Samples-Written").isPresent());

        Request noEmptyFirst = Request.newBuilder().addSymbols("x").build();
        assertEquals(400, post(noEmptyFirst, V2).statusCode());

        assertEquals(415, post(noEmptyFirst, "application/x-protobuf;proto=io.prometheus.write.v3.Request").statusCode());
        HttpRequest gzip = HttpRequest.newBuilder(prom2pg.writeUri()).header("Content-Type", V2).header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {1})).build();
        HttpResponse<String> unsupported = HttpClient.newHttpClient().send(gzip, HttpResponse.BodyHandlers.ofString());
        assertEquals(415, unsupported.statusCode());
        assertEquals("0", unsupported.headers().firstValue("X-Prometheus-Remote-Write-Samples-Written").orElse(null),
                "4xx answers to 2.0 requests carry the counts too");
    }

    @Test
    void should_acknowledge_an_ha_followers_histograms_only_once_its_leaders_copy_is_stored() throws Exception {
        assertEquals(204, post(histogramOf("a", T0), V2).statusCode());
        assertEquals(204, post(histogramOf("b", T0 - 3), V2).statusCode(), "the leader's copy of the scrape is stored");
        HttpResponse<String> ahead = post(histogramOf("b", T0 + 15_000), V2);
        assertEquals(503, ahead.statusCode(), "a histogram the leader has not stored: " + ahead.body());
        // the leader stops: retried until the lease moves, then the follower's histogram is stored
        int status = 503;
        for (int attempt = 0; attempt < 50 && status == 503; attempt++) {
            status = post(histogramOf("b", T0 + 15_000), V2).statusCode();
            Thread.sleep(100);
        }
        assertEquals(204, status);
        String h = prom2pg.schema + ".native_histograms WHERE name = 'test_v2_ha'";
        assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + h), "the leader's first, the follower's after");
    }

    private static Request histogramOf(String replica, long t) {
        Symbols s = new Symbols();
        return Request.newBuilder()
                .addTimeseries(TimeSeries.newBuilder()
                        .addAllLabelsRefs(s.refs("__name__", "test_v2_ha", "prometheus", "v2ha", "prometheus_replica", replica))
                        .addHistograms(Histogram.newBuilder().setCountInt(3).setSum(0.75).setSchema(0).setTimestamp(t)
                                .addPositiveSpans(BucketSpan.newBuilder().setOffset(0).setLength(1)).addAllPositiveDeltas(List.of(3L))))
                .addAllSymbols(s.table()).build();
    }

    private static HttpResponse<String> post(Request request, String contentType) throws Exception {
        return RemoteWrite.postBody(prom2pg.writeUri(), SnappyDataFormat.compress(request.toByteArray()), contentType);
    }

    /** Builds a request's symbol table, symbols[0] = "". */
    static final class Symbols {
        private final List<String> table = new ArrayList<>(List.of(""));

        int ref(String symbol) {
            int i = table.indexOf(symbol);
            if (i < 0) {
                table.add(symbol);
                i = table.size() - 1;
            }
            return i;
        }

        List<Integer> refs(String... strings) {
            List<Integer> refs = new ArrayList<>();
            for (String s : strings) {
                refs.add(ref(s));
            }
            return refs;
        }

        List<String> table() {
            return table;
        }
    }
}
