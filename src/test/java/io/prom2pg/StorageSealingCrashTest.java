package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Random;

import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Await;
import io.prom2pg.support.Prom2pgProcess;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sealing is one transaction: prom2pg killed with SIGKILL at any moment of it leaves a day either
 * all in the head or all in the blocks, never half of it, never twice; and several prom2pg
 * instances sealing one database take turns.
 */
class StorageSealingCrashTest {

    @BeforeAll
    static void plainLayout() {
        TestDatabase.assumeDayPartitions();
    }

    static final int SERIES = 200;
    static final int PER_SERIES = 900; // 15 s apart from 00:00: 3 h 45 min, one 4-hour window, sealed in one transaction

    @Test
    void should_lose_and_duplicate_nothing_when_killed_while_sealing() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("sealcrash");
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(5);
        fill(url, schema, day);
        assertEquals(SERIES * PER_SERIES, stored(url, schema, day));
        Path dir = Files.createTempDirectory("prom2pg-sealcrash");
        Map<String, String> env = Map.of("PROM2PG_DB_URL", url, "PROM2PG_DB_USER", "postgres", "PROM2PG_DB_SCHEMA", schema,
                "PROM2PG_STORAGE_SEAL_DELAY_MS", "1", "PROM2PG_STORAGE_SEAL_INTERVAL_MS", "100");
        // killed inside the seal's transaction: its blocks are written, its DROP waits for a reader
        try (Connection reader = TestDatabase.connect(url)) {
            reader.setAutoCommit(false);
            try (Statement st = reader.createStatement()) {
                st.execute("LOCK TABLE " + schema + ".samples IN ACCESS SHARE MODE");
            }
            Prom2pgProcess sealer = Prom2pgProcess.start(dir.resolve("held"), env);
            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    + " AND query LIKE 'DROP TABLE " + schema + ".samples_%'") > 0, Duration.ofSeconds(60),
                    "the seal's blocks written and its DROP waiting");
            assertEquals(SERIES * PER_SERIES, headRows(url, schema, day), "the uncommitted blocks are not seen");
            sealer.kill();
            reader.rollback();
        }
        awaitSessionsGone(url, schema);
        assertEquals(SERIES * PER_SERIES, headRows(url, schema, day), "killed before its commit: all still in the head");
        assertEquals(0, blockSamples(url, schema, day), "and none in the blocks");

        Random random = new Random(42);
        int killedWhileHeadRemained = 0;
        for (int round = 0; round < 6 && headRows(url, schema, day) > 0; round++) {
            Prom2pgProcess sealer = Prom2pgProcess.start(dir.resolve("r" + round), env).awaitReady(Duration.ofSeconds(60));
            Thread.sleep(random.nextInt(600));
            sealer.kill();
            awaitSessionsGone(url, schema);
            long head = headRows(url, schema, day);
            long blocks = blockSamples(url, schema, day);
            assertTrue(head == 0 || blocks == 0, "round " + round + ": all in one tier (head " + head + ", blocks " + blocks + ")");
            assertEquals(SERIES * PER_SERIES, head + blocks, "round " + round + ": nothing lost, nothing twice");
            if (head > 0) {
                killedWhileHeadRemained++;
            }
        }
        // whatever the kills left, the next run finishes it
        try (Prom2pgProcess sealer = Prom2pgProcess.start(dir.resolve("last"), env).awaitReady(Duration.ofSeconds(60))) {
            Await.until(() -> headRows(url, schema, day) == 0, Duration.ofSeconds(60), "the day sealed");
        }
        assertEquals(SERIES * PER_SERIES, blockSamples(url, schema, day));
        assertEquals(SERIES * PER_SERIES, TestDatabase.queryLong(url, "SELECT count(DISTINCT (series_id, time)) FROM "
                + schema + ".samples_between('-infinity', 'infinity')"));
        assertEquals(SERIES, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks"),
                "one 4-hour window: a block a series");
        System.out.println("sealing killed " + killedWhileHeadRemained + " time(s) before it committed");
    }

    @Test
    void should_have_several_instances_take_turns() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("sealturns");
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(4);
        Map<String, String> sealing = Map.of("prom2pg.storage.seal-delay-ms", "200", "prom2pg.storage.seal-interval-ms", "50");
        fill(url, schema, day);
        try (RunningProm2pg a = RunningProm2pg.start(url, schema, sealing).awaitReady(Duration.ofSeconds(30));
             RunningProm2pg b = RunningProm2pg.start(url, schema, sealing).awaitReady(Duration.ofSeconds(30))) {
            Await.until(() -> headRows(url, schema, day) == 0, Duration.ofSeconds(60), "the day sealed");
            // both keep running their timers over the sealed day
            Thread.sleep(500);
            assertEquals(SERIES * PER_SERIES, blockSamples(url, schema, day));
            assertEquals(SERIES, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks"),
                "one 4-hour window: a block a series");
            assertEquals(0.0, a.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}")
                    + b.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
        }
    }

    @Test
    void should_leave_the_hour_blocks_whole_when_killed_while_compacting() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("compactcrash");
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(7);
        long t0 = day.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
        fill(url, schema, day);
        // an instance whose seal delay puts "now minus the delay" at 03:10 of the window: its hours 0 to 2 sealed by the hour
        long sealAfter = System.currentTimeMillis() - (t0 + 3 * 3_600_000L + 10 * 60_000L);
        try (RunningProm2pg hourly = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-after-ms", Long.toString(sealAfter),
                "prom2pg.storage.seal-delay-ms", "100", "prom2pg.storage.seal-interval-ms", "100")).awaitReady(Duration.ofSeconds(30))) {
            Await.until(() -> headRows(url, schema, day) == SERIES * (PER_SERIES - 720), Duration.ofSeconds(60), "hours 0 to 2 sealed");
        }
        assertEquals(SERIES * 3, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks"), "a block a series and hour");
        String window = schema + ".sample_blocks_" + day.format(DateTimeFormatter.BASIC_ISO_DATE) + "_00";
        Path dir = Files.createTempDirectory("prom2pg-compactcrash");
        Map<String, String> env = Map.of("PROM2PG_DB_URL", url, "PROM2PG_DB_USER", "postgres", "PROM2PG_DB_SCHEMA", schema,
                "PROM2PG_STORAGE_SEAL_DELAY_MS", "1", "PROM2PG_STORAGE_SEAL_INTERVAL_MS", "100");
        // the window over: hour 3 sealed, then the compaction's new table built and its DROP of the old one waiting for a reader
        try (Connection reader = TestDatabase.connect(url)) {
            reader.setAutoCommit(false);
            try (Statement st = reader.createStatement()) {
                st.execute("LOCK TABLE " + window + " IN ACCESS SHARE MODE");
            }
            Prom2pgProcess sealer = Prom2pgProcess.start(dir.resolve("held"), env);
            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    + " AND query = 'DROP TABLE " + window + "'") > 0, Duration.ofSeconds(60), "the compaction waiting to drop the hour blocks");
            sealer.kill();
            reader.rollback();
        }
        awaitSessionsGone(url, schema);
        assertEquals(0, headRows(url, schema, day), "hour 3 sealed before the compaction");
        assertEquals(SERIES * 4, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks"),
                "killed before the compaction committed: the hour blocks as they were");
        assertEquals(SERIES * PER_SERIES, blockSamples(url, schema, day));
        assertEquals("", TestDatabase.queryString(url, "SELECT coalesce(string_agg(relname, ','), '') FROM pg_class c JOIN pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = '" + schema + "' AND relname LIKE '%next%'"), "no half-built table left");
        try (Prom2pgProcess sealer = Prom2pgProcess.start(dir.resolve("last"), env).awaitReady(Duration.ofSeconds(60))) {
            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks") == SERIES,
                    Duration.ofSeconds(60), "the window compacted: a block a series");
        }
        assertEquals(SERIES * PER_SERIES, blockSamples(url, schema, day));
        assertEquals(SERIES * PER_SERIES, TestDatabase.queryLong(url, "SELECT count(DISTINCT (series_id, time)) FROM "
                + schema + ".samples_between('-infinity', 'infinity')"));
    }

    /** The killed prom2pg's sessions ended (PostgreSQL rolls back what they had not committed). */
    private static void awaitSessionsGone(String url, String schema) throws Exception {
        Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                + " AND state <> 'idle' AND query LIKE '%" + schema + "%'") == 0, Duration.ofSeconds(30), "the killed seal's session ended");
    }

    @Test
    void should_store_a_late_write_that_meets_a_seal_in_progress_once() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("seallate");
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(6);
        fill(url, schema, day);
        long lateTime = day.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli() + 7_000;
        // a new sample, and a retry of one the day holds (stored in the head, being sealed)
        WriteRequest late = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "sealed_crash", "s", "0").addSamples(sample(lateTime, -1)))
                .addTimeseries(series("__name__", "sealed_crash", "s", "1").addSamples(sample(lateTime - 7_000, 1000))).build();
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-delay-ms", "100",
                "prom2pg.storage.seal-interval-ms", "100")).awaitReady(Duration.ofSeconds(30));
             Connection reader = TestDatabase.connect(url)) {
            // a reader makes the seal's DROP wait, with the day's partition locked by the seal
            reader.setAutoCommit(false);
            try (Statement st = reader.createStatement()) {
                st.execute("LOCK TABLE " + schema + ".samples IN ACCESS SHARE MODE");
            }
            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    + " AND query LIKE 'DROP TABLE " + schema + ".samples_%'") > 0, Duration.ofSeconds(30), "a seal waiting to drop");
            // the late write waits for the day, the seal gives up on its DROP or loses a deadlock;
            // whatever it is answered, a sender retries it until it is taken
            var sent = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    int status;
                    do {
                        status = RemoteWrite.post(prom2pg.writeUri(), late).statusCode();
                    } while (status != 204);
                    return status;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1500);
            reader.rollback();
            assertEquals(204, sent.get(60, java.util.concurrent.TimeUnit.SECONDS));
            Await.until(() -> headRows(url, schema, day) == 0, Duration.ofSeconds(60), "the day sealed");
            Thread.sleep(300); // a run more over the sealed day
            Await.until(() -> headRows(url, schema, day) == 0, Duration.ofSeconds(60), "the late sample sealed too");
        }
        assertEquals(SERIES * PER_SERIES + 1, blockSamples(url, schema, day), "every sample, the late one once");
        assertEquals(SERIES * PER_SERIES + 1, TestDatabase.queryLong(url, "SELECT count(DISTINCT (series_id, time)) FROM "
                + schema + ".samples_between('-infinity', 'infinity')"));
    }

    /** SERIES x PER_SERIES samples of the day, written by an instance that does not seal. */
    private static void fill(String url, String schema, LocalDate day) throws Exception {
        try (RunningProm2pg writer = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-delay-ms", "86400000"))
                .awaitReady(Duration.ofSeconds(30))) {
            fill(writer, day);
        }
    }

    private static void fill(RunningProm2pg prom2pg, LocalDate day) throws Exception {
        long t0 = day.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
        for (int first = 0; first < SERIES; first += 10) {
            WriteRequest.Builder w = WriteRequest.newBuilder();
            for (int s = first; s < first + 10; s++) {
                TimeSeries.Builder ts = series("__name__", "sealed_crash", "s", String.valueOf(s));
                for (int k = 0; k < PER_SERIES; k++) {
                    ts.addSamples(sample(t0 + k * 15_000L, s * 1000 + k));
                }
                w.addTimeseries(ts);
            }
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), w.build()).statusCode());
        }
    }

    private static long headRows(String url, String schema, LocalDate day) throws Exception {
        return TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".samples WHERE time >= '" + day
                + " 00:00:00+00' AND time < '" + day.plusDays(1) + " 00:00:00+00'");
    }

    private static long blockSamples(String url, String schema, LocalDate day) throws Exception {
        return TestDatabase.queryLong(url, "SELECT coalesce(sum(count), 0) FROM " + schema + ".sample_blocks WHERE day = '" + day + "'");
    }

    private static long stored(String url, String schema, LocalDate day) throws Exception {
        return headRows(url, schema, day) + blockSamples(url, schema, day);
    }
}
