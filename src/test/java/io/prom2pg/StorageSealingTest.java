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
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteRead.LabelMatcher;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.proto.RemoteRead.ReadResponse;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Await;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.Metering;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The two tiers through the running routes: the storage-sealing route (a 300 ms timer) packs a
 * past 4-hour window's samples into blocks and drops its partitions; every reader (the metrics
 * view, remote read) sees the same values, bit for bit; a retried request adds nothing and a late
 * sample lands once, also after the window was sealed.
 */
class StorageSealingTest {

    @BeforeAll
    static void plainLayout() {
        TestDatabase.assumeDayPartitions();
    }

    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("sealing", Map.of(
            "prom2pg.storage.seal-interval-ms", "300",
            "prom2pg.storage.seal-delay-ms", "300",
            "prom2pg.storage.size-interval-ms", "200"));

    /** Three days ago, 01:00 UTC (the window 00:00-04:00): past the default 2 h after its window. */
    static final LocalDate DAY = LocalDate.now(ZoneOffset.UTC).minusDays(3);
    static final long T0 = DAY.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli() + 3_600_000L;
    static final long STALE = 0x7ff0000000000002L;
    static final double[] VALUES = {1.5, Double.longBitsToDouble(STALE), Double.NaN, Double.POSITIVE_INFINITY,
        Double.NEGATIVE_INFINITY, -0.0, 0.0, 123_456.789, Double.MIN_VALUE};

    @Test
    void should_seal_a_past_day_and_read_it_back_bit_for_bit_from_every_reader() throws Exception {
        WriteRequest request = request("sealed_mix", T0);
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        awaitSealed();
        assertEquals(2, blocks("sealed_mix"), "one block per series and window");
        assertEquals("p", TestDatabase.queryString(prom2pg.jdbcUrl(), "SELECT string_agg(DISTINCT attcompression::text, ',')"
                + " FROM pg_attribute WHERE attrelid = '" + prom2pg.schema + ".sample_blocks_" + DAY.format(DateTimeFormatter.BASIC_ISO_DATE)
                + "'::regclass AND attname IN ('time_offsets', 'value_ints', 'vals')"), "pglz, as measured");
        List<String> sent = bits(request);
        assertEquals(sent, viewBits("sealed_mix"), "the metrics view over the blocks");
        assertEquals(sent, remoteReadBits("sealed_mix", T0, T0 + 3_600_000L), "remote read over the blocks");
        // a range that cuts the blocks at both ends, its ends included
        long from = T0 + 2 * 15_000L;
        long to = T0 + 5 * 15_000L;
        assertEquals(sent.stream().filter(r -> {
            long t = Long.parseLong(r.split("\\|")[1]);
            return t >= from && t <= to;
        }).toList(), remoteReadBits("sealed_mix", from, to), "remote read of a part of the blocks");

        // Prometheus retries what it is not sure of: nothing is added, before or after the next seal
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        assertEquals(sent, viewBits("sealed_mix"), "a retried request adds nothing to a sealed window");

        // a late sample of the sealed window, between two of its block's, lands in the head at once, then in the blocks
        WriteRequest late = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "sealed_mix", "i", "0").addSamples(sample(T0 + 7_500L, 42)))
                .build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), late).statusCode());
        assertEquals(sent.size() + 1, viewBits("sealed_mix").size(), "the late sample, at once");
        List<String> headAndBlocks = remoteReadBits("sealed_mix", T0, T0 + 3_600_000L);
        assertEquals(sent.size() + 1, headAndBlocks.size(), "remote read: the late sample from the head among its block's");
        assertTrue(headAndBlocks.containsAll(sent));
        awaitSealed();
        assertEquals(2, blocks("sealed_mix"), "merged into its series' block");
        List<String> withLate = viewBits("sealed_mix");
        assertEquals(sent.size() + 1, withLate.size());
        assertTrue(withLate.containsAll(sent));
        assertEquals(sent.size() + 1, TestDatabase.queryLong(prom2pg.jdbcUrl(), "SELECT sum(count) FROM " + prom2pg.schema
                + ".sample_blocks b JOIN " + prom2pg.schema + ".series s ON s.id = b.series_id WHERE s.metric_name = 'sealed_mix'"));
        assertTrue(prom2pg.metric("prom2pg_maintenance_runs_total{route=\"storage-sealing\"}") > 0);
        assertEquals(0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
    }

    @Test
    void should_keep_counters_and_decimals_as_integers_and_give_them_back_exactly() throws Exception {
        // an integer counter, a gauge in hundredths, scrape times with a few ms of jitter
        WriteRequest.Builder w = WriteRequest.newBuilder();
        TimeSeries.Builder counter = series("__name__", "sealed_shapes", "i", "0");
        TimeSeries.Builder hundredths = series("__name__", "sealed_shapes", "i", "1");
        for (int k = 0; k < 240; k++) {
            long t = T0 + k * 15_000L + (k * 7 % 5) - 2;
            counter.addSamples(sample(t, 1_000_000_000_000.0 + k * (k % 9)));
            hundredths.addSamples(sample(t, Math.round(Math.sin(k) * 10_000) / 100.0));
        }
        WriteRequest request = w.addTimeseries(counter).addTimeseries(hundredths).build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
        awaitSealed();
        assertEquals("0:0,1:2", scales("sealed_shapes"), "the counter as integers, the gauge as hundredths");
        List<String> sent = bits(request);
        assertEquals(sent, viewBits("sealed_shapes"), "the metrics view");
        assertEquals(sent, remoteReadBits("sealed_shapes", T0 - 60_000L, T0 + 2 * 3_600_000L), "remote read");

        // a stale marker arriving late for the sealed window: the counter's block goes back to floats
        WriteRequest late = WriteRequest.newBuilder().addTimeseries(series("__name__", "sealed_shapes", "i", "0")
                .addSamples(sample(T0 + 240 * 15_000L, Double.longBitsToDouble(STALE)))).build();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), late).statusCode());
        awaitSealed();
        assertEquals("0:-,1:2", scales("sealed_shapes"));
        List<String> withLate = new ArrayList<>(sent);
        withLate.addAll(bits(late));
        withLate.sort(null);
        assertEquals(withLate, viewBits("sealed_shapes"), "every sample once, bit for bit");
        assertEquals(withLate, remoteReadBits("sealed_shapes", T0 - 60_000L, T0 + 2 * 3_600_000L));
    }

    @Test
    void should_key_each_block_by_the_hour_its_window_starts_at() throws Exception {
        long day = DAY.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
        long[] times = {day, day + 13 * 3_600_000L + 5 * 60_000L, day + 24 * 3_600_000L - 1};
        WriteRequest.Builder w = WriteRequest.newBuilder();
        for (long t : times) {
            w.addTimeseries(series("__name__", "sealed_hours", "t", String.valueOf(t)).addSamples(sample(t, 1)));
        }
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), w.build()).statusCode());
        awaitSealed();
        int[] hours = {0, 12, 20};
        StringBuilder expected = new StringBuilder();
        for (int k = 0; k < times.length; k++) {
            expected.append(k == 0 ? "" : ",").append(times[k]).append(':').append(hours[k]).append(':').append(times[k]);
        }
        assertEquals(expected.toString(), TestDatabase.queryString(prom2pg.jdbcUrl(), "SELECT string_agg((s.labels ->> 't') || ':' || b.hour"
                + " || ':' || b.first_time, ',' ORDER BY (s.labels ->> 't')::bigint) FROM " + prom2pg.schema + ".sample_blocks b JOIN "
                + prom2pg.schema + ".series s ON s.id = b.series_id WHERE s.metric_name = 'sealed_hours' AND b.day = '" + DAY + "'"),
                "each sample's block is its 4-hour window's: hours 0, 12 and 20 of the day");
    }

    @Test
    void should_read_a_time_range_from_that_range_only_with_metrics_between() throws Exception {
        // the same samples in the window of DAY and in the one a day before, and one in the head
        long dayBefore = T0 - 86_400_000L;
        long now = System.currentTimeMillis();
        WriteRequest old = request("sealed_range", dayBefore);
        WriteRequest sealed = request("sealed_range", T0);
        WriteRequest head = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "sealed_range", "i", "0").addSamples(sample(now - 60_000L, 7))).build();
        for (WriteRequest w : List.of(old, sealed, head)) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), w).statusCode());
        }
        awaitSealed();
        Await.until(() -> Metering.headPartitions(prom2pg, DAY.minusDays(1)) == 0, Duration.ofSeconds(30), "the day before sealed");

        assertEquals(bits(sealed), rangeBits("sealed_range", T0 - 60_000L, T0 + 3_600_000L), "DAY's window, bit for bit");
        assertEquals(bits(old), rangeBits("sealed_range", dayBefore, T0 - 3_600_000L), "the day before's, its first sample included");
        // [from, to): a range that cuts the blocks, its start included and its end not
        long from = T0 + 2 * 15_000L;
        long to = T0 + 5 * 15_000L;
        assertEquals(bits(sealed).stream().filter(r -> {
            long t = Long.parseLong(r.split("\\|")[1]);
            return t >= from && t < to;
        }).toList(), rangeBits("sealed_range", from, to));
        assertEquals(bits(head), rangeBits("sealed_range", now - 120_000L, now + 60_000L), "the head's row");
        assertEquals(viewBits("sealed_range"), rangeBits("sealed_range", dayBefore - 1, now + 60_000L), "everything, as the view");

        // the blocks of other days are not opened: the plan holds the range's day partitions only
        String plan = String.join("\n", TestDatabase.queryStrings(prom2pg.jdbcUrl(), "EXPLAIN (COSTS OFF) SELECT count(*) FROM "
                + prom2pg.schema + ".metrics_between(" + instant(T0) + ", " + instant(T0 + 3_600_000L) + ") WHERE name = 'sealed_range'"));
        assertTrue(plan.contains("sample_blocks_" + DAY.format(DateTimeFormatter.BASIC_ISO_DATE)), plan);
        assertTrue(!plan.contains("sample_blocks_" + DAY.minusDays(1).format(DateTimeFormatter.BASIC_ISO_DATE)), plan);
        assertTrue(plan.contains("metric_name = 'sealed_range'"), "a filter on name reaches the series table: " + plan);
    }

    @Test
    void should_leave_postgresql_free_to_read_both_tiers_in_parallel() throws Exception {
        // a part of the plan that is not parallel safe keeps the whole UNION ALL in one process:
        // the full scan of BENCHMARKS.md ran at half the rate (V17). Parallelism made free, the
        // planner takes it wherever it is allowed.
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("sealed_parallel", T0)).statusCode());
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("sealed_parallel", System.currentTimeMillis())).statusCode());
        awaitSealed();
        List<String> plans = new ArrayList<>();
        try (var c = TestDatabase.connect(prom2pg.jdbcUrl()); var st = c.createStatement()) {
            st.execute("SET parallel_setup_cost = 0");
            st.execute("SET parallel_tuple_cost = 0");
            st.execute("SET min_parallel_table_scan_size = 0");
            st.execute("SET max_parallel_workers_per_gather = 2");
            for (String from : List.of(prom2pg.schema + ".metrics",
                    prom2pg.schema + ".metrics_between('-infinity', 'infinity')",
                    prom2pg.schema + ".metrics_between(now() - interval '7 days', now())")) {
                StringBuilder plan = new StringBuilder();
                try (var rs = st.executeQuery("EXPLAIN (COSTS OFF) SELECT count(*), sum(value) FROM " + from)) {
                    while (rs.next()) {
                        plan.append(rs.getString(1)).append('\n');
                    }
                }
                plans.add(plan.toString());
            }
        }
        for (String plan : plans) {
            assertTrue(plan.contains("Gather") && plan.contains("sample_blocks") && plan.contains("Parallel"), plan);
        }
    }

    /** As {@link #viewBits}, from {@code metrics_between(from, to)} (ms). */
    private static List<String> rangeBits(String metric, long from, long to) throws Exception {
        return bitsOf(prom2pg, prom2pg.schema + ".metrics_between(" + instant(from) + ", " + instant(to) + ")", metric);
    }

    private static String instant(long millis) {
        return "'" + java.time.Instant.ofEpochMilli(millis) + "'::timestamptz";
    }

    /** "i:scale" of each series' block ("-": floats as they are). */
    private static String scales(String metric) throws Exception {
        return TestDatabase.queryString(prom2pg.jdbcUrl(), "SELECT string_agg((s.labels ->> 'i') || ':' || coalesce(b.value_scale::text, '-'),"
                + " ',' ORDER BY s.labels ->> 'i') FROM " + prom2pg.schema + ".sample_blocks b JOIN " + prom2pg.schema
                + ".series s ON s.id = b.series_id WHERE s.metric_name = '" + metric + "'");
    }

    @Test
    void should_give_the_same_metering_answer_from_the_sealed_tier() throws Exception {
        // 0.5 cores requested for 2 h of a sealed window, one sample a minute: 1 core-hour per hour
        TimeSeries.Builder ts = series("__name__", "metering:pod_request_cpu_cores", "namespace", "sealed", "pod", "p-1", "node", "n1");
        long h0 = T0 + 3 * 3_600_000L;
        for (int i = 0; i <= 120; i++) {
            ts.addSamples(sample(h0 + i * 60_000L, 0.5));
        }
        String seconds = "SELECT round(sum(value_seconds)::numeric, 3)::text FROM " + prom2pg.schema + ".metering_gauge_seconds("
                + "'metering:pod_request_cpu_cores', timestamptz 'epoch' + " + h0 + " * interval '1 millisecond',"
                + " timestamptz 'epoch' + " + (h0 + 2 * 3_600_000L) + " * interval '1 millisecond')";
        // the answer from the head while the sealing route is held, then from the blocks
        var routes = prom2pg.app().context().getRouteController();
        routes.suspendRoute("storage-sealing");
        String fromHead;
        try {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder().addTimeseries(ts).build()).statusCode());
            assertEquals(121, TestDatabase.queryLong(prom2pg.jdbcUrl(), "SELECT count(*) FROM " + prom2pg.schema + ".samples m JOIN "
                    + prom2pg.schema + ".series s ON s.id = m.series_id WHERE s.metric_name = 'metering:pod_request_cpu_cores'"));
            fromHead = TestDatabase.queryString(prom2pg.jdbcUrl(), seconds);
        } finally {
            routes.resumeRoute("storage-sealing");
        }
        awaitSealed();
        assertEquals(1, blocks("metering:pod_request_cpu_cores"));
        assertEquals("3600.000", fromHead, "0.5 cores x 2 h = 3600 core-seconds");
        assertEquals(fromHead, TestDatabase.queryString(prom2pg.jdbcUrl(), seconds), "the same from the blocks");
    }

    @Test
    void should_count_what_is_sealed_and_show_each_tier_and_the_lag() throws Exception {
        var routes = prom2pg.app().context().getRouteController();
        routes.suspendRoute("storage-sealing");
        double sealedBefore;
        try {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("sealed_metrics", T0)).statusCode());
            // the window sent ended more than two days ago and waits in the head
            Await.until(() -> prom2pg.metric("prom2pg_storage_oldest_unsealed_age_seconds") >= 2 * 86_400,
                    Duration.ofSeconds(30), "the lag of the window in the head");
            assertTrue(prom2pg.metric("prom2pg_storage_bytes{tier=\"head\"}") > 0);
            sealedBefore = prom2pg.metric("prom2pg_storage_sealed_samples_total");
        } finally {
            routes.resumeRoute("storage-sealing");
        }
        awaitSealed();
        Await.until(() -> prom2pg.metric("prom2pg_storage_sealed_samples_total") == sealedBefore + 2 * VALUES.length,
                Duration.ofSeconds(30), "the samples of the window counted once sealed");
        // nothing in the head ended more than the default 2 h ago any more
        Await.until(() -> prom2pg.metric("prom2pg_storage_oldest_unsealed_age_seconds") < 7_200, Duration.ofSeconds(30),
                "the lag gone");
        assertTrue(prom2pg.metric("prom2pg_storage_bytes{tier=\"sealed\"}") > 0);
        assertTrue(prom2pg.metric("prom2pg_storage_seal_runs_total") > 0);
        assertEquals(0, prom2pg.metric("prom2pg_storage_seal_failures_total"));
        assertEquals(prom2pg.metric("prom2pg_maintenance_runs_total{route=\"storage-sealing\"}"),
                prom2pg.metric("prom2pg_storage_seal_runs_total"), 2, "the same runs the route counts");
    }

    @Test
    void should_keep_today_in_the_head() throws Exception {
        long now = System.currentTimeMillis();
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("sealed_today", now)).statusCode());
        Thread.sleep(1000); // several sealing runs
        assertEquals(0, blocks("sealed_today"));
        assertEquals(2L * VALUES.length, TestDatabase.queryLong(prom2pg.jdbcUrl(), "SELECT count(*) FROM " + prom2pg.schema
                + ".samples m JOIN " + prom2pg.schema + ".series s ON s.id = m.series_id WHERE s.metric_name = 'sealed_today'"));
    }

    /** Two series, every value kind, 15 s apart from t0. */
    private static WriteRequest request(String metric, long t0) {
        WriteRequest.Builder w = WriteRequest.newBuilder();
        for (int i = 0; i < 2; i++) {
            TimeSeries.Builder ts = series("__name__", metric, "i", String.valueOf(i));
            for (int k = 0; k < VALUES.length; k++) {
                ts.addSamples(sample(t0 + k * 15_000L, VALUES[k]));
            }
            w.addTimeseries(ts);
        }
        return w.build();
    }

    private static void awaitSealed() throws Exception {
        Await.until(() -> Metering.headPartitions(prom2pg, DAY) == 0, Duration.ofSeconds(30), "the day's partitions sealed and dropped");
    }

    private static long blocks(String metric) throws Exception {
        return blocks(prom2pg, metric);
    }

    static long blocks(RunningProm2pg prom2pg, String metric) throws Exception {
        return TestDatabase.queryLong(prom2pg.jdbcUrl(), "SELECT count(*) FROM " + prom2pg.schema + ".sample_blocks b JOIN "
                + prom2pg.schema + ".series s ON s.id = b.series_id WHERE s.metric_name = '" + metric + "'");
    }

    /** "labels|time|bits of the value", sorted. */
    static List<String> bits(WriteRequest request) {
        List<String> rows = new ArrayList<>();
        for (TimeSeries ts : request.getTimeseriesList()) {
            for (var s : ts.getSamplesList()) {
                rows.add(ts.getLabels(1).getValue() + "|" + s.getTimestamp() + "|" + Long.toHexString(Double.doubleToRawLongBits(s.getValue())));
            }
        }
        rows.sort(null);
        return rows;
    }

    private static List<String> viewBits(String metric) throws Exception {
        return viewBits(prom2pg, metric);
    }

    static List<String> viewBits(RunningProm2pg prom2pg, String metric) throws Exception {
        return bitsOf(prom2pg, prom2pg.schema + ".metrics", metric);
    }

    /** "labels|time|bits of the value" of a metric's rows in {@code source}, the metrics view's columns. */
    private static List<String> bitsOf(RunningProm2pg prom2pg, String source, String metric) throws Exception {
        List<String> rows = TestDatabase.queryStrings(prom2pg.jdbcUrl(), "SELECT (labels ->> 'i') || '|'"
                + " || (extract(epoch FROM time) * 1000)::bigint || '|' || ltrim(encode(float8send(value), 'hex'), '0')"
                + " FROM " + source + " WHERE name = '" + metric + "'");
        List<String> normal = new ArrayList<>();
        for (String r : rows) {
            normal.add(r.endsWith("|") ? r + "0" : r);
        }
        normal.sort(null);
        return normal;
    }

    private static List<String> remoteReadBits(String metric, long from, long to) throws Exception {
        return remoteReadBits(prom2pg, metric, from, to);
    }

    static List<String> remoteReadBits(RunningProm2pg prom2pg, String metric, long from, long to) throws Exception {
        ReadRequest read = ReadRequest.newBuilder().addQueries(Query.newBuilder().setStartTimestampMs(from).setEndTimestampMs(to)
                .addMatchers(LabelMatcher.newBuilder().setType(LabelMatcher.Type.EQ).setName("__name__").setValue(metric)))
                .build();
        HttpRequest http = HttpRequest.newBuilder(URI.create(prom2pg.uri("/api/v1/read").toString()))
                .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "snappy")
                .POST(HttpRequest.BodyPublishers.ofByteArray(SnappyDataFormat.compress(read.toByteArray()))).build();
        HttpResponse<byte[]> response = HttpClient.newHttpClient().send(http, HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode(), new String(response.body()));
        ReadResponse answer = ReadResponse.parseFrom(SnappyDataFormat.decompress(response.body(), 64 << 20));
        List<String> rows = new ArrayList<>();
        for (TimeSeries ts : answer.getResults(0).getTimeseriesList()) {
            String i = ts.getLabelsList().stream().filter(l -> l.getName().equals("i")).findFirst().orElseThrow().getValue();
            for (int k = 1; k < ts.getSamplesCount(); k++) {
                assertTrue(ts.getSamples(k - 1).getTimestamp() < ts.getSamples(k).getTimestamp(),
                        "series " + i + ": samples in ascending time order, as Prometheus merges them");
            }
            for (var s : ts.getSamplesList()) {
                rows.add(i + "|" + s.getTimestamp() + "|" + Long.toHexString(Double.doubleToRawLongBits(s.getValue())));
            }
        }
        rows.sort(null);
        return rows;
    }
}
