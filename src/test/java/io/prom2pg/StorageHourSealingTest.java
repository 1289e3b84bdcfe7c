package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Await;
import io.prom2pg.support.Metering;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sealing by the hour, through the running routes of two prom2pg instances on one schema: the
 * first runs with a seal delay that puts "now minus the delay" at 02:10 of a 4-hour window of four
 * days ago, so it seals that window's first two hours into hour blocks while the window is open;
 * the second, with the default delay, finds the window over, seals its last two hours and compacts
 * the four into one block a series, by building the window's table anew. Every reader sees every
 * sample once, bit for bit, at each step; late and retried samples land once in either state.
 */
class StorageHourSealingTest {

    @BeforeAll
    static void plainLayout() {
        TestDatabase.assumeDayPartitions();
    }

    static final LocalDate DAY = LocalDate.now(ZoneOffset.UTC).minusDays(4);
    static final long W0 = DAY.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
    static final String WINDOW_TABLE = "sample_blocks_" + DAY.format(DateTimeFormatter.BASIC_ISO_DATE) + "_00";

    @Test
    void should_seal_an_open_window_by_the_hour_then_compact_it_into_one_block_a_series() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("hour_sealing");
        // 4 hours at 15 s of two series: every kind of value, and hundredths
        WriteRequest.Builder w = WriteRequest.newBuilder();
        TimeSeries.Builder mixed = series("__name__", "hourly", "i", "0");
        TimeSeries.Builder hundredths = series("__name__", "hourly", "i", "1");
        for (int k = 0; k < 960; k++) {
            long t = W0 + k * 15_000L + (k * 7 % 5); // a few ms of jitter
            mixed.addSamples(sample(t, k < StorageSealingTest.VALUES.length ? StorageSealingTest.VALUES[k] : k * 3));
            hundredths.addSamples(sample(t, Math.round(Math.sin(k) * 10_000) / 100.0));
        }
        WriteRequest request = w.addTimeseries(mixed).addTimeseries(hundredths).build();
        List<String> sent = new ArrayList<>(StorageSealingTest.bits(request));
        long sealAfter = System.currentTimeMillis() - (W0 + 2 * 3_600_000L + 10 * 60_000L);
        Map<String, String> routes = Map.of("prom2pg.storage.seal-interval-ms", "300", "prom2pg.storage.seal-delay-ms", "300");
        Map<String, String> openWindow = new java.util.HashMap<>(routes);
        openWindow.put("prom2pg.storage.seal-after-ms", Long.toString(sealAfter));

        String firstTable;
        try (RunningProm2pg first = RunningProm2pg.start(url, schema, openWindow).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(first.writeUri(), request).statusCode());
            Await.until(() -> Metering.headPartitions(first, DAY) == 8, Duration.ofSeconds(30), "hours 0 and 1 sealed, 2 and 3 in the head");
            assertEquals("0:2:480,1:2:480", hours(first), "a block a series and hour, keyed by its hour");
            assertEquals(sent, StorageSealingTest.viewBits(first, "hourly"), "the metrics view over hour blocks and head");
            assertEquals(sent, StorageSealingTest.remoteReadBits(first, "hourly", W0, W0 + 4 * 3_600_000L), "remote read over both");

            // a retry adds nothing; a late sample of a sealed hour lands once, then in that hour's block
            assertEquals(204, RemoteWrite.post(first.writeUri(), request).statusCode());
            WriteRequest late = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "hourly", "i", "0").addSamples(sample(W0 + 3_600_000L + 7_500L, 42))).build();
            assertEquals(204, RemoteWrite.post(first.writeUri(), late).statusCode());
            sent.addAll(StorageSealingTest.bits(late));
            sent.sort(null);
            assertEquals(sent, StorageSealingTest.viewBits(first, "hourly"), "the retry adds nothing, the late sample once");
            Await.until(() -> "0:2:480,1:2:481".equals(hours(first)), Duration.ofSeconds(30), "the late sample in hour 1's block");
            assertEquals(8, Metering.headPartitions(first, DAY));
            firstTable = windowTableOid(first);
            assertEquals(0, first.metric("prom2pg_storage_seal_failures_total"));
        }

        try (RunningProm2pg second = RunningProm2pg.start(url, schema, routes).awaitReady(Duration.ofSeconds(30))) {
            Await.until(() -> "0:2:1921".equals(hours(second)), Duration.ofSeconds(30), "the window compacted: one block a series");
            assertEquals(0, Metering.headPartitions(second, DAY), "the head's hours 2 and 3 sealed and dropped");
            assertNotEquals(firstTable, windowTableOid(second), "the window's table built anew: no dead rows left behind");
            assertEquals(W0 + ":" + (W0 + 4 * 3_600_000L), TestDatabase.queryString(url, "SELECT string_agg("
                    + "(extract(epoch FROM start) * 1000)::bigint || ':' || (extract(epoch FROM \"end\") * 1000)::bigint, ',')"
                    + " FROM " + schema + ".sealed_windows WHERE start >= '" + DAY + "' AND start < '" + DAY.plusDays(1) + "'"),
                    "sealed whole from now on");
            assertEquals(sent, StorageSealingTest.viewBits(second, "hourly"), "the metrics view over the compacted blocks");
            assertEquals(sent, StorageSealingTest.remoteReadBits(second, "hourly", W0, W0 + 4 * 3_600_000L), "remote read");

            // a late sample of the compacted window merges into its block
            WriteRequest late = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "hourly", "i", "1").addSamples(sample(W0 + 3 * 3_600_000L + 1_000L, -0.0))).build();
            assertEquals(204, RemoteWrite.post(second.writeUri(), late).statusCode());
            assertEquals(204, RemoteWrite.post(second.writeUri(), request).statusCode());
            sent.addAll(StorageSealingTest.bits(late));
            sent.sort(null);
            Await.until(() -> "0:2:1922".equals(hours(second)), Duration.ofSeconds(30), "the late sample in the window's block");
            assertEquals(sent, StorageSealingTest.viewBits(second, "hourly"));
            assertEquals(sent, StorageSealingTest.remoteReadBits(second, "hourly", W0, W0 + 4 * 3_600_000L));
            assertEquals(0, second.metric("prom2pg_storage_seal_failures_total"));
        }
    }

    @Test
    void should_drop_a_sealed_day_with_its_window_tables_past_retention() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("hour_retention");
        LocalDate old = LocalDate.now(ZoneOffset.UTC).minusDays(10);
        long t0 = old.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli() + 5 * 3_600_000L;
        String dayTable = "sample_blocks_" + old.format(DateTimeFormatter.BASIC_ISO_DATE);
        String tables = "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '"
                + schema + "' AND c.relname LIKE '" + dayTable + "%' AND c.relkind IN ('r', 'p')";
        try (RunningProm2pg sealing = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-interval-ms", "300",
                "prom2pg.storage.seal-delay-ms", "300")).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(sealing.writeUri(), WriteRequest.newBuilder().addTimeseries(
                    series("__name__", "hourly_old").addSamples(sample(t0, 1)).addSamples(sample(t0 + 15_000L, 2))).build()).statusCode());
            Await.until(() -> StorageSealingTest.blocks(sealing, "hourly_old") == 1, Duration.ofSeconds(30), "the old day sealed");
            assertEquals(7, TestDatabase.queryLong(url, tables), "the day's block partition and its six windows");
        }
        try (RunningProm2pg retention = RunningProm2pg.start(url, schema, Map.of("prom2pg.retention.raw-days", "5",
                "prom2pg.retention.interval-ms", "300", "prom2pg.retention.delay-ms", "200")).awaitReady(Duration.ofSeconds(30))) {
            Await.until(() -> TestDatabase.queryLong(url, tables) == 0, Duration.ofSeconds(30), "the day dropped, windows and all");
            assertEquals(0, StorageSealingTest.blocks(retention, "hourly_old"));
            assertEquals(0, retention.metric("prom2pg_maintenance_failures_total{route=\"retention\"}"));
        }
    }

    /** "hour:blocks:samples" of the window's blocks, by hour. */
    private static String hours(RunningProm2pg p) throws Exception {
        return TestDatabase.queryString(p.jdbcUrl(), "SELECT string_agg(h, ',' ORDER BY hour) FROM (SELECT b.hour,"
                + " b.hour || ':' || count(*) || ':' || sum(b.count) AS h FROM " + p.schema + ".sample_blocks b WHERE b.day = '" + DAY + "'"
                + " GROUP BY b.hour) x");
    }

    private static String windowTableOid(RunningProm2pg p) throws Exception {
        return TestDatabase.queryString(p.jdbcUrl(), "SELECT '" + p.schema + "." + WINDOW_TABLE + "'::regclass::oid::text");
    }
}
