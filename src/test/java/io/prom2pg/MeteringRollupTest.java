package io.prom2pg;

import static io.prom2pg.support.Metering.namespaceCpu;
import static io.prom2pg.support.Metering.relations;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.prom2pg.metering.MeteringRollup;
import io.prom2pg.metering.Retention;
import io.prom2pg.support.Metering;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Hourly rollups: incremental, updated by late samples, and still there after raw retention. */
class MeteringRollupTest {

    @Test
    void should_update_a_rolled_up_hour_when_late_samples_arrive() throws Exception {
        try (RunningProm2pg prom2pg = start()) {
            OffsetDateTime hour = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS).minusHours(3);
            write(prom2pg, "web-1", hour, 60);
            MeteringRollup rollup = bean(prom2pg, "meteringRollup", MeteringRollup.class);
            assertTrue(rollup.run() > 0, "the scheduled run rolls up the hours since the first metering sample");
            assertEquals(1800, namespaceCpu(prom2pg, hour));
            assertEquals(1.0, prom2pg.metric("prom2pg_metering_rollup_runs_total"));

            write(prom2pg, "web-2", hour, 60); // late: another pod's samples for the same hour
            rollup.run();
            assertEquals(3600, namespaceCpu(prom2pg, hour), "the late samples are in the rolled-up hour");
        }
    }

    @Test
    void should_keep_rollups_when_retention_drops_the_raw_partitions() throws Exception {
        TestDatabase.assumeDayPartitions();
        try (RunningProm2pg prom2pg = start()) {
            OffsetDateTime day = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.DAYS).minusDays(100);
            write(prom2pg, "old-1", day.plusHours(5), 60);
            write(prom2pg, "new-1", OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS).minusHours(2), 60);
            bean(prom2pg, "meteringRollup", MeteringRollup.class).rollUp(day, day.plusDays(1));
            assertEquals(5, Metering.headPartitions(prom2pg, day.toLocalDate()), "an hour and its stale marker: five 15-minute partitions");

            Retention retention = bean(prom2pg, "retention", Retention.class);
            String url = TestDatabase.shared().jdbcUrl();
            ExecutorService background = Executors.newSingleThreadExecutor();
            try (Connection report = TestDatabase.connect(url); Statement st = report.createStatement()) {
                // a long report is running: retention waits for it (and gives up after the lock
                // timeout), but other readers are not queued behind retention meanwhile
                report.setAutoCommit(false);
                st.executeQuery("SELECT count(*) FROM " + prom2pg.schema + ".samples").close();
                Future<Integer> waiting = background.submit(retention::run);
                Thread.sleep(300);
                long started = System.nanoTime();
                assertEquals(61, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                        + ".metrics WHERE labels ->> 'pod' = 'new-1'"));
                long tookMillis = (System.nanoTime() - started) / 1_000_000;
                assertTrue(tookMillis < 1_000, "a reader waited " + tookMillis + " ms behind retention");
                assertThrows(ExecutionException.class, waiting::get, "retention gives up after the lock timeout");
                report.rollback();
            } finally {
                background.shutdownNow();
            }
            assertEquals(5, retention.run(), "the 100-day-old partitions are dropped (default 90 days), a pending detach finished");
            assertEquals(0, Metering.headPartitions(prom2pg, day.toLocalDate()));
            assertEquals(1.0, prom2pg.metric("prom2pg_retention_runs_total"));
            assertEquals(5.0, prom2pg.metric("prom2pg_retention_partitions_dropped_total"));
            assertEquals(1800, namespaceCpu(prom2pg, day.plusHours(5)), "last season's report still answers");
            assertEquals(61, TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(), "SELECT count(*) FROM " + prom2pg.schema
                    + ".metrics WHERE labels ->> 'pod' = 'new-1'"), "recent raw data stays (60 samples and the stale marker)");
        }
    }

    private static RunningProm2pg start() throws Exception {
        return RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("rollup"),
                        Map.of("prom2pg.db.lock-timeout-ms", "2000"))
                .awaitReady(Duration.ofSeconds(30));
    }

    private static void write(RunningProm2pg prom2pg, String pod, OffsetDateTime hour, int samples) throws Exception {
        assertEquals(204, Metering.writePodCpuRequest(prom2pg, pod, hour, samples));
    }

    private static <T> T bean(RunningProm2pg prom2pg, String name, Class<T> type) {
        return prom2pg.app().context().getRegistry().lookupByNameAndType(name, type);
    }
}
