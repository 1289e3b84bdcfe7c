package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteRead.LabelMatcher;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.proto.RemoteRead.ReadResponse;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Remote read: matchers as Prometheus means them, samples bit for bit, bounded answers. */
class RemoteReadTest {

    static final long T0 = 1_795_493_700_000L;
    static final long STALE = 0x7ff0000000000002L;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    /** Values with LIKE's wildcards and escape in them, for the regexes read as sets and prefixes. */
    static final String[] PATHS = {"a_b", "axb", "a%c", "abc", "a\\d", "app-12-x", "app-13-y", "app-14-x", "bpp-12-x", "app-"};
    /** A label value that does not compress: with it, a series' labels exceed a B-tree entry's 2,704 bytes. */
    static final String BLOB = new java.util.Random(15).ints(4096, 'a', 'z' + 1)
            .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("read", Map.of("prom2pg.read.max-samples", "1000"));

    @BeforeAll
    static void seed() throws Exception {
        WriteRequest.Builder write = WriteRequest.newBuilder();
        for (String job : new String[] {"api", "db", "web"}) {
            TimeSeries.Builder ts = series("__name__", "test_up", "job", job, "zone", job.equals("web") ? "" : "eu");
            for (int i = 0; i < 10; i++) {
                ts.addSamples(sample(T0 + i * 15_000L, i));
            }
            write.addTimeseries(ts);
        }
        write.addTimeseries(series("__name__", "test_stale", "job", "api")
                .addSamples(sample(T0, Double.longBitsToDouble(STALE))).addSamples(sample(T0 + 1, Double.NaN)));
        write.addTimeseries(series("__name__", "test_many", "job", "x").addAllSamples(many(1500)));
        for (String job : PATHS) {
            write.addTimeseries(series("__name__", "test_path", "job", job).addSamples(sample(T0, 1)));
        }
        write.addTimeseries(series("__name__", "test_large", "job", "small").addSamples(sample(T0, 1)));
        write.addTimeseries(series("__name__", "test_large", "blob", "y".repeat(3000), "job", "big-1").addSamples(sample(T0, 2)));
        write.addTimeseries(series("__name__", "test_large", "blob", BLOB, "job", "big-2").addSamples(sample(T0, 3)));
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), write.build()).statusCode());
    }

    @Test
    void should_match_series_whatever_the_size_of_their_labels() throws Exception {
        // series_match_idx holds label sets up to 2,000 bytes; the others are matched all the same
        assertEquals(List.of("big-1", "big-2", "small"), jobs(read(query(T0, T0, eq("__name__", "test_large")))));
        assertEquals(List.of("big-1", "big-2"), jobs(read(query(T0, T0, re("__name__", "test_large|test_none"), re("job", "big-.*")))));
        assertEquals(List.of("big-2"), jobs(read(query(T0, T0, eq("__name__", "test_large"), eq("blob", BLOB)))));
        assertEquals(List.of("small"), jobs(read(query(T0, T0, eq("__name__", "test_large"), neq("job", "big-1"), eq("blob", "")))));
        TimeSeries big = read(query(T0, T0, eq("__name__", "test_large"), eq("job", "big-2"))).getResults(0).getTimeseries(0);
        assertEquals(List.of("__name__=test_large", "blob=" + BLOB, "job=big-2"), labels(big));
        assertEquals(3.0, big.getSamples(0).getValue());
    }

    @Test
    void should_answer_equality_matchers_with_sorted_labels_and_the_samples_in_the_closed_range() throws Exception {
        ReadResponse response = read(query(T0 + 15_000, T0 + 45_000, eq("__name__", "test_up"), eq("job", "api")));
        assertEquals(1, response.getResultsCount());
        List<TimeSeries> series = response.getResults(0).getTimeseriesList();
        assertEquals(1, series.size());
        assertEquals(List.of("__name__=test_up", "job=api", "zone=eu"), labels(series.get(0)));
        assertEquals(3, series.get(0).getSamplesCount(), "both ends of the range are included");
        assertEquals(T0 + 45_000, series.get(0).getSamples(2).getTimestamp());
        assertEquals(T0 + 15_000, series.get(0).getSamples(0).getTimestamp());
        assertEquals(1.0, series.get(0).getSamples(0).getValue());
    }

    @Test
    void should_treat_a_missing_label_as_empty_and_anchor_regular_expressions() throws Exception {
        assertEquals(List.of("web"), jobs(read(query(T0, T0 + 200_000, eq("__name__", "test_up"), eq("zone", "")))));
        assertEquals(List.of("api", "db"), jobs(read(query(T0, T0 + 200_000, eq("__name__", "test_up"), neq("zone", "")))));
        assertEquals(List.of("api", "db"), jobs(read(query(T0, T0 + 200_000, eq("__name__", "test_up"), re("job", "api|db")))));
        assertEquals(List.of(), jobs(read(query(T0, T0 + 200_000, eq("__name__", "test_up"), re("job", "ap")))),
                "a regex matches whole values only");
        assertEquals(List.of("web"), jobs(read(query(T0, T0 + 200_000, re("__name__", "test_u.*"), nre("job", "a.*|d.*")))));
    }

    @Test
    void should_match_regexes_of_literals_as_sets_and_prefixes_exactly_as_the_regex_does() throws Exception {
        // sets: no regex runs; prefixes: LIKE first, whose wildcards and escape are literal here
        Map<String, List<String>> expected = new java.util.LinkedHashMap<>();
        expected.put("a_b", List.of("a_b"));
        expected.put("a_b|a%c|abc", List.of("a%c", "a_b", "abc"));
        expected.put("app-(12|13)-(x|y)", List.of("app-12-x", "app-13-y"));
        expected.put("a_.*", List.of("a_b"));
        expected.put("a%.*", List.of("a%c"));
        expected.put("a\\\\.*", List.of("a\\d"));
        expected.put("app-1(2|3)-.*", List.of("app-12-x", "app-13-y"));
        expected.put("app-.+", List.of("app-12-x", "app-13-y", "app-14-x"));
        expected.put("app-(12|14)-x|bpp.*", List.of("app-12-x", "app-14-x", "bpp-12-x"));
        expected.put("(app|bpp)-12-.*", List.of("app-12-x", "bpp-12-x"));
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), jobs(read(query(T0, T0, eq("__name__", "test_path"), re("job", e.getKey())))), "=~ " + e.getKey());
            List<String> others = new ArrayList<>(List.of(PATHS));
            others.removeAll(e.getValue());
            others.sort(null);
            assertEquals(others, jobs(read(query(T0, T0, eq("__name__", "test_path"), nre("job", e.getKey())))), "!~ " + e.getKey());
        }
        assertEquals(List.of("test_path", "test_up"), names(read(query(T0, T0, re("__name__", "test_(up|path)")))));
    }

    @Test
    void should_return_stale_markers_and_nan_bit_for_bit() throws Exception {
        TimeSeries ts = read(query(T0, T0 + 10, eq("__name__", "test_stale"))).getResults(0).getTimeseries(0);
        assertEquals(STALE, Double.doubleToRawLongBits(ts.getSamples(0).getValue()));
        assertEquals(Double.doubleToRawLongBits(Double.NaN), Double.doubleToRawLongBits(ts.getSamples(1).getValue()));
    }

    @Test
    void should_answer_each_query_of_a_request_in_order() throws Exception {
        ReadResponse response = read(ReadRequest.newBuilder()
                .addQueries(query(T0, T0, eq("__name__", "test_stale")).getQueries(0))
                .addQueries(query(T0, T0, eq("__name__", "test_up")).getQueries(0))
                .build());
        assertEquals(2, response.getResultsCount());
        assertEquals(1, response.getResults(0).getTimeseriesCount());
        assertEquals(3, response.getResults(1).getTimeseriesCount());
    }

    @Test
    void should_not_interpret_matcher_values_as_sql() throws Exception {
        ReadResponse response = read(query(T0, T0 + 200_000, eq("__name__", "test_up' OR '1'='1"),
                eq("job'); DROP TABLE series; --", "x")));
        assertEquals(0, response.getResults(0).getTimeseriesCount());
        assertEquals(3, read(query(T0, T0, eq("__name__", "test_up"))).getResults(0).getTimeseriesCount(), "tables intact");
    }

    @Test
    void should_refuse_an_answer_over_the_sample_limit_with_a_reason() throws Exception {
        HttpResponse<String> response = post(query(T0, T0 + 10_000_000, eq("__name__", "test_many")), "application/x-protobuf");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("prom2pg.read.max-samples"), response.body());
    }

    @Test
    void should_answer_400_for_an_invalid_regex_and_415_for_other_media_types() throws Exception {
        HttpResponse<String> badRegex = post(query(T0, T0, re("job", "(unclosed")), "application/x-protobuf");
        assertEquals(400, badRegex.statusCode());
        assertTrue(badRegex.body().contains("regular expression"), badRegex.body());
        assertEquals(415, post(query(T0, T0, eq("job", "x")), "application/json").statusCode());
        HttpResponse<String> noMatchers = post(ReadRequest.newBuilder().addQueries(Query.newBuilder()).build(), "application/x-protobuf");
        assertEquals(400, noMatchers.statusCode());
        HttpResponse<String> chunksOnly = post(query(T0, T0, eq("job", "x")).toBuilder()
                .addAcceptedResponseTypes(ReadRequest.ResponseType.STREAMED_XOR_CHUNKS).build(), "application/x-protobuf");
        assertEquals(400, chunksOnly.statusCode());
        assertTrue(chunksOnly.body().contains("SAMPLES"), chunksOnly.body());
    }

    private static ReadResponse read(ReadRequest request) throws Exception {
        HttpRequest http = HttpRequest.newBuilder(prom2pg.uri("/api/v1/read"))
                .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Read-Version", "0.1.0")
                .POST(HttpRequest.BodyPublishers.ofByteArray(SnappyDataFormat.compress(request.toByteArray()))).build();
        HttpResponse<byte[]> response = HTTP.send(http, HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode(), new String(response.body()));
        assertEquals("application/x-protobuf", response.headers().firstValue("Content-Type").orElse(null));
        assertEquals("snappy", response.headers().firstValue("Content-Encoding").orElse(null));
        return ReadResponse.parseFrom(SnappyDataFormat.decompress(response.body(), Integer.MAX_VALUE));
    }

    private static HttpResponse<String> post(ReadRequest request, String contentType) throws Exception {
        return RemoteWrite.postBody(prom2pg.uri("/api/v1/read"), SnappyDataFormat.compress(request.toByteArray()), contentType);
    }

    private static ReadRequest query(long start, long end, LabelMatcher... matchers) {
        return ReadRequest.newBuilder().addQueries(Query.newBuilder().setStartTimestampMs(start).setEndTimestampMs(end)
                .addAllMatchers(List.of(matchers))).build();
    }

    private static LabelMatcher eq(String name, String value) {
        return LabelMatcher.newBuilder().setType(LabelMatcher.Type.EQ).setName(name).setValue(value).build();
    }

    private static LabelMatcher neq(String name, String value) {
        return LabelMatcher.newBuilder().setType(LabelMatcher.Type.NEQ).setName(name).setValue(value).build();
    }

    private static LabelMatcher re(String name, String value) {
        return LabelMatcher.newBuilder().setType(LabelMatcher.Type.RE).setName(name).setValue(value).build();
    }

    private static LabelMatcher nre(String name, String value) {
        return LabelMatcher.newBuilder().setType(LabelMatcher.Type.NRE).setName(name).setValue(value).build();
    }

    private static List<String> labels(TimeSeries ts) {
        List<String> labels = new ArrayList<>();
        for (Label l : ts.getLabelsList()) {
            labels.add(l.getName() + "=" + l.getValue());
        }
        return labels;
    }

    private static List<String> names(ReadResponse response) {
        return response.getResults(0).getTimeseriesList().stream().map(ts -> ts.getLabels(0).getValue()).distinct().sorted().toList();
    }

    private static List<String> jobs(ReadResponse response) {
        List<String> jobs = new ArrayList<>();
        for (TimeSeries ts : response.getResults(0).getTimeseriesList()) {
            for (Label l : ts.getLabelsList()) {
                if (l.getName().equals("job")) {
                    jobs.add(l.getValue());
                }
            }
        }
        jobs.sort(null);
        return jobs;
    }

    private static List<io.prom2pg.proto.RemoteWriteV1.Sample> many(int n) {
        List<io.prom2pg.proto.RemoteWriteV1.Sample> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            samples.add(sample(T0 + i * 1000L, i));
        }
        return samples;
    }
}
