package io.prom2pg;

import static io.prom2pg.support.Metering.namespaceCpu;
import static io.prom2pg.support.Metering.headPartitions;
import static io.prom2pg.support.Metering.relations;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.prom2pg.support.Metering;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import io.prom2pg.support.Await;
import org.junit.jupiter.api.Test;

/**
 * The scheduled routes of {@code routes/database-maintenance.yaml} as Camel runs them: timers at
 * short intervals set through the documented settings, data sent over HTTP, results read from
 * PostgreSQL and from {@code /observe/metrics}. No bean is called directly.
 */
class MaintenanceRoutesTest {

    private static final List<String> ROUTES = List.of("partition-maintenance", "views-sync", "metering-rollup", "retention");

    @Test
    void should_roll_up_drop_old_partitions_and_create_partitions_on_schedule() throws Exception {
        TestDatabase.assumeDayPartitions();
        // the first rollup 3 s after start, once the old hour is written: its request spans four
        // 15-minute partitions, each committed in its own transaction, and a rollup between them
        // would cover part of an hour older than the late window, which no later run recomputes
        try (RunningProm2pg prom2pg = start(Map.of("prom2pg.metering.rollup-delay-ms", "3000"))) {
            String url = TestDatabase.shared().jdbcUrl();
            OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
            // 100 days old: past the default raw-days (90); written first, so the rollup covers it
            OffsetDateTime oldHour = now.truncatedTo(ChronoUnit.DAYS).minusDays(100).plusHours(5);
            write(prom2pg, "old-1", oldHour, 60);
            OffsetDateTime hour = now.truncatedTo(ChronoUnit.HOURS).minusHours(3);
            write(prom2pg, "web-1", hour, 120);

            // the known answer: 0.5 cores for a whole hour = 1800 core-seconds, in each complete hour
            Await.until(() -> namespaceCpu(prom2pg, hour) == 1800 && namespaceCpu(prom2pg, hour.plusHours(1)) == 1800,
                    Duration.ofSeconds(30), "metering-rollup materializes both complete hours");
            write(prom2pg, "web-2", hour, 60); // late: another pod's samples for an hour already rolled up
            Await.until(() -> namespaceCpu(prom2pg, hour) == 3600, Duration.ofSeconds(30), "the next rollups recompute the late hour");
            Await.until(() -> headPartitions(prom2pg, oldHour.toLocalDate()) == 0, Duration.ofSeconds(30),
                    "retention drops the partitions older than raw-days");
            assertEquals(1800, namespaceCpu(prom2pg, oldHour), "the dropped day was rolled up first");
            assertEquals(121, TestDatabase.queryLong(url, "SELECT count(*) FROM " + prom2pg.schema
                    + ".metrics WHERE labels ->> 'pod' = 'web-1'"), "recent raw samples stay");
            // 5 h ahead (prom2pg.partitions.ahead-ms below): the window 5 h from now, 15-minute aligned
            long aheadWindow = (System.currentTimeMillis() + 5 * 3_600_000L) / 900_000L * 900_000L;
            String ahead = "samples_" + DateTimeFormatter.ofPattern("yyyyMMdd_HHmm").withZone(ZoneOffset.UTC)
                    .format(java.time.Instant.ofEpochMilli(aheadWindow - 900_000L));
            Await.until(() -> relations(prom2pg, ahead) == 1, Duration.ofSeconds(30), "partition-maintenance creates the partitions ahead");
            Await.until(() -> ROUTES.stream().allMatch(r -> runs(prom2pg, r) >= 2), Duration.ofSeconds(30), "every maintenance route ran again");

            for (String route : ROUTES) {
                assertEquals(0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"" + route + "\"}"), route);
                assertTrue(prom2pg.metric("prom2pg_maintenance_last_success_timestamp_seconds{route=\"" + route + "\"}")
                        >= now.toEpochSecond() - 1, route);
            }
            assertTrue(prom2pg.metric("prom2pg_metering_rollup_runs_total") >= 1);
            assertTrue(prom2pg.metric("prom2pg_retention_partitions_dropped_total") >= 1);
        }
    }

    @Test
    void should_count_and_log_a_maintenance_route_that_fails() throws Exception {
        try (RunningProm2pg prom2pg = start(Map.of("prom2pg.retention.delay-ms", "600000"))) {
            String url = TestDatabase.shared().jdbcUrl();
            write(prom2pg, "web-1", OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS).minusHours(2), 60);
            // the rollup's function gone: every run of the route fails from now on
            try (var c = TestDatabase.connect(url); var st = c.createStatement()) {
                st.execute("DROP FUNCTION " + prom2pg.schema + ".metering_rollup(timestamptz, timestamptz)");
            }
            String failures = "prom2pg_maintenance_failures_total{route=\"metering-rollup\"}";
            Await.until(() -> prom2pg.metric(failures) >= 2, Duration.ofSeconds(30), "the failing runs are counted");
            assertTrue(prom2pg.metric("prom2pg_maintenance_last_failure_timestamp_seconds{route=\"metering-rollup\"}") > 0);
            assertEquals(0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"retention\"}"),
                    "listed at zero before it ever ran");
            assertEquals(0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"views-sync\"}"));
        }
    }

    @Test
    void should_keep_metering_hours_past_raw_days_until_the_first_rollup_has_run() throws Exception {
        TestDatabase.assumeDayPartitions();
        try (RunningProm2pg prom2pg = start(Map.of("prom2pg.metering.rollup-delay-ms", "600000"))) {
            OffsetDateTime oldHour = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.DAYS).minusDays(100).plusHours(5);
            write(prom2pg, "old-1", oldHour, 60);
            double before = runs(prom2pg, "retention");
            Await.until(() -> runs(prom2pg, "retention") >= before + 3, Duration.ofSeconds(30), "retention runs meanwhile");
            assertEquals(5, headPartitions(prom2pg, oldHour.toLocalDate()), "no rollup has covered it yet: kept");
            assertEquals(0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"retention\"}"));
        }
    }

    private static RunningProm2pg start(Map<String, String> extra) throws Exception {
        Map<String, String> props = new HashMap<>(Map.of(
                "prom2pg.metering.rollup-interval-ms", "300",
                "prom2pg.metering.rollup-delay-ms", "0",
                "prom2pg.retention.interval-ms", "300",
                "prom2pg.retention.delay-ms", "200",
                "prom2pg.partitions.interval-ms", "300",
                "prom2pg.partitions.ahead-ms", "18000000",
                "prom2pg.views.check-interval-ms", "300"));
        props.putAll(extra);
        return RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("maint"), props)
                .awaitReady(Duration.ofSeconds(30));
    }

    private static void write(RunningProm2pg prom2pg, String pod, OffsetDateTime from, int minutes) throws Exception {
        assertEquals(204, Metering.writePodCpuRequest(prom2pg, pod, from, minutes));
    }

    private static double runs(RunningProm2pg prom2pg, String route) {
        try {
            return prom2pg.metric("prom2pg_maintenance_runs_total{route=\"" + route + "\"}");
        } catch (Exception e) {
            return -1;
        }
    }
}
