package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Await;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Upgrade in place: a database as the release before the sealed tier left it (migrations up to
 * V7, days of samples as rows) is migrated at start-up and sealed day by day by the route while
 * ingest goes on; every sample it held is read back the same, none twice.
 */
class StorageUpgradeTest {

    @BeforeAll
    static void plainLayout() {
        TestDatabase.assumeDayPartitions();
    }

    static final int SERIES = 20;

    @Test
    void should_seal_a_database_filled_by_the_previous_schema_while_ingest_goes_on() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("upgrade");
        Flyway.configure().dataSource(url, "postgres", "").schemas(schema).defaultSchema(schema)
                .placeholders(Map.of("schema", schema)).locations("classpath:db/migration").target("7").load().migrate();
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
            for (int d = 4; d >= 0; d--) {
                st.execute("SELECT " + schema + ".ensure_partition('" + today.minusDays(d) + "')");
            }
            st.execute("INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                    + " SELECT decode(md5('old-' || i), 'hex'), 'upgraded', jsonb_build_object('i', i::text) FROM generate_series(1, " + SERIES + ") i");
            // one sample a minute for four past days, values with every bit pattern kind
            st.execute("INSERT INTO " + schema + ".samples (time, series_id, value)"
                    + " SELECT timestamptz '" + today.minusDays(4) + " 00:00:00+00' + m * interval '1 minute', s.id,"
                    + " CASE m % 5 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN '-0'::float8 WHEN 2 THEN 'Infinity'::float8 ELSE m * 0.1 END"
                    + " FROM " + schema + ".series s, generate_series(0, 4 * 1440 - 1) m");
        }
        String before = fingerprint(url, schema, "SELECT time, series_id, value FROM " + schema + ".samples");

        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-delay-ms", "500",
                "prom2pg.storage.seal-interval-ms", "200", "prom2pg.storage.seal-after-ms", "1000")).awaitReady(Duration.ofSeconds(60))) {
            // ingest goes on while the old days are sealed
            long now = System.currentTimeMillis();
            for (int i = 0; i < 20; i++) {
                WriteRequest w = WriteRequest.newBuilder()
                        .addTimeseries(series("__name__", "upgraded_now", "k", String.valueOf(i)).addSamples(sample(now + i, i)))
                        .build();
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), w).statusCode());
                Thread.sleep(50);
            }
            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    + " WHERE i.inhparent = '" + schema + ".samples'::regclass AND c.relname < 'samples_"
                    + today.toString().replace("-", "") + "'") == 0, Duration.ofSeconds(60), "the old days sealed");
            assertEquals(before, fingerprint(url, schema, "SELECT b.time, b.series_id, b.value FROM " + schema
                    + ".samples_between('-infinity', 'infinity') b JOIN " + schema + ".series s ON s.id = b.series_id"
                    + " WHERE s.metric_name = 'upgraded'"), "every old sample, bit for bit, once");
            assertEquals(SERIES * 4L * 6, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks"),
                    "the four past days of each series sealed into 4-hour blocks, today left in the head");
            assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = '" + schema + "' AND c.relname = 'samples_" + today.toString().replace("-", "") + "'"),
                    "today's day partition, empty, made way for 15-minute ones");
            assertTrue(TestDatabase.queryLong(url, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = '" + schema + "' AND c.relname ~ '^samples_" + today.toString().replace("-", "") + "_[0-9]{4}$'") >= 1,
                    "today's samples in 15-minute partitions");
            assertEquals(20, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'upgraded_now'"));
            assertEquals(0.0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
        }
    }

    @Test
    void should_encode_the_blocks_of_the_release_before_in_place() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("upgrade_blocks");
        Flyway.configure().dataSource(url, "postgres", "").schemas(schema).defaultSchema(schema)
                .placeholders(Map.of("schema", schema)).locations("classpath:db/migration").target("8").load().migrate();
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
            st.execute("INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                    + " SELECT decode(md5('blocks-' || i), 'hex'), 'upgraded_blocks', jsonb_build_object('i', i::text)"
                    + " FROM generate_series(0, " + (SERIES - 1) + ") i");
            // two days sealed as the release before sealed them (two arrays), the third still rows:
            // integer counters, hundredths, and floats with NaN, -0.0 and infinity
            String samples = "SELECT timestamptz '" + today.minusDays(4) + " 00:00:00+00' + m * interval '15 seconds'"
                    + " + (m % 7) * interval '1 millisecond' AS time, s.id AS series_id,"
                    + " CASE (s.labels ->> 'i')::int % 3 WHEN 0 THEN (m * 3 + m % 5)::float8 WHEN 1 THEN round((m % 997) * 1.37, 2)::float8"
                    + "   ELSE CASE m % 4 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN '-0'::float8 WHEN 2 THEN 'Infinity'::float8 ELSE m / 7.0 END END AS value"
                    + " FROM " + schema + ".series s, generate_series(0, 3 * 5760 - 1) m WHERE s.metric_name = 'upgraded_blocks'";
            for (int d = 4; d >= 2; d--) {
                st.execute("SELECT " + schema + ".ensure_block_partition('" + today.minusDays(d) + "')");
                st.execute("SELECT " + schema + ".ensure_partition('" + today.minusDays(d) + "')");
            }
            st.execute("CREATE TEMP TABLE old_samples AS " + samples);
            st.execute("INSERT INTO " + schema + ".sample_blocks (day, series_id, first_time, last_time, count, times, vals)"
                    + " SELECT (o.time AT TIME ZONE 'UTC')::date, o.series_id, min(o.t), max(o.t), count(*), array_agg(o.t ORDER BY o.t),"
                    + " array_agg(o.value ORDER BY o.t) FROM (SELECT *, (extract(epoch FROM time) * 1000)::bigint AS t FROM old_samples) o"
                    + " WHERE o.time < '" + today.minusDays(2) + "' GROUP BY 1, 2");
            st.execute("INSERT INTO " + schema + ".samples SELECT time, series_id, value FROM old_samples WHERE time >= '" + today.minusDays(2) + "'");
        }
        String all = "SELECT b.time, b.series_id, b.value FROM " + schema + ".samples_between('-infinity', 'infinity') b";
        String before = fingerprint(url, schema, all);
        assertEquals(SERIES * 3L * 5760 + " ", before.substring(0, before.indexOf(' ') + 1));

        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.storage.seal-delay-ms", "300",
                "prom2pg.storage.seal-interval-ms", "200", "prom2pg.storage.seal-after-ms", "1000")).awaitReady(Duration.ofSeconds(60))) {
            // the two old days stay one block a series (hour 0), the third is sealed into six 4-hour blocks
            Await.until(() -> TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".sample_blocks") == SERIES * 8L,
                    Duration.ofSeconds(60), "the third day sealed too");
            assertEquals(List.of(today.minusDays(4) + "|" + today.minusDays(3), today.minusDays(3) + "|" + today.minusDays(2),
                    today.minusDays(2) + "|" + today.minusDays(1)), TestDatabase.queryStrings(url, "SELECT (start AT TIME ZONE 'UTC')::date"
                    + " || '|' || (\"end\" AT TIME ZONE 'UTC')::date FROM " + schema + ".sealed_windows ORDER BY start"),
                    "the days sealed before the upgrade count as sealed, whole (the third: its day partition sealed whole)");
            assertEquals(before, fingerprint(url, schema, all), "every sample, bit for bit, once");
            assertEquals(List.of("0:0", "1:2", "2:-"), TestDatabase.queryStrings(url, "SELECT DISTINCT ((s.labels ->> 'i')::int % 3)"
                    + " || ':' || coalesce(b.value_scale::text, '-') FROM " + schema + ".sample_blocks b JOIN " + schema
                    + ".series s ON s.id = b.series_id ORDER BY 1"), "old and new blocks alike: integers, hundredths, floats");
            assertEquals(0.0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
        }
    }

    @Test
    void should_seal_whole_windows_into_a_day_partition_the_release_before_made() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("upgrade_hours");
        Flyway.configure().dataSource(url, "postgres", "").schemas(schema).defaultSchema(schema)
                .placeholders(Map.of("schema", schema)).locations("classpath:db/migration").target("13").load().migrate();
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(2);
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
            st.execute("INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                    + " SELECT decode(md5('hours-' || i), 'hex'), 'upgraded_hours', jsonb_build_object('i', i::text)"
                    + " FROM generate_series(0, " + (SERIES - 1) + ") i");
            // as the release before left it: the day's block partition (one table) holding the
            // window 00:00-04:00, and the window 04:00-08:00 in the head
            st.execute("SELECT " + schema + ".ensure_block_partition('" + day + "')");
            st.execute("INSERT INTO " + schema + ".sealed_windows VALUES ('" + day + " 00:00+00', '" + day + " 04:00+00')");
            st.execute("INSERT INTO " + schema + ".sample_blocks (day, hour, series_id, first_time, last_time, count, time_step,"
                    + " time_offsets, value_scale, value_ints, vals) SELECT '" + day + "', 0, s.id, e.* FROM " + schema + ".series s"
                    + " CROSS JOIN LATERAL " + schema + ".block_encode(ARRAY(SELECT (extract(epoch FROM timestamptz '" + day
                    + " 00:00+00') * 1000)::bigint + m * 15000 FROM generate_series(0, 959) m), ARRAY(SELECT m * 0.5 FROM generate_series(0, 959) m)) e");
            for (int w = 0; w < 16; w++) {
                st.execute("SELECT " + schema + ".ensure_head_partition(timestamptz '" + day + " 04:00+00' + " + w
                        + " * interval '15 minutes', interval '15 minutes')");
            }
            st.execute("INSERT INTO " + schema + ".samples (time, series_id, value) SELECT timestamptz '" + day
                    + " 04:00+00' + m * interval '15 seconds' + (m % 3) * interval '1 millisecond', s.id,"
                    + " CASE m % 4 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN '-0'::float8 ELSE m * 0.01 END"
                    + " FROM " + schema + ".series s, generate_series(0, 959) m");
        }
        String all = "SELECT b.time, b.series_id, b.value FROM " + schema + ".samples_between('-infinity', 'infinity') b";
        String before = fingerprint(url, schema, all);
        String dayTable = schema + ".sample_blocks_" + day.format(java.time.format.DateTimeFormatter.BASIC_ISO_DATE);
        String heads = "SELECT count(*) FROM " + schema + ".samples";
        // "now minus the delay" at 06:10 of the window in the head: no hour of it goes into the old day's table
        long t0610 = day.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli() + 6 * 3_600_000L + 10 * 60_000L;
        Map<String, String> sealing = Map.of("prom2pg.storage.seal-delay-ms", "200", "prom2pg.storage.seal-interval-ms", "200");
        Map<String, String> open = new java.util.HashMap<>(sealing);
        open.put("prom2pg.storage.seal-after-ms", Long.toString(System.currentTimeMillis() - t0610));
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, open).awaitReady(Duration.ofSeconds(60))) {
            Await.until(() -> prom2pg.metric("prom2pg_maintenance_runs_total{route=\"storage-sealing\"}") >= 3, Duration.ofSeconds(30),
                    "a few sealing runs");
            assertEquals(SERIES * 960L, TestDatabase.queryLong(url, heads), "the open window stays in the head");
            assertEquals(0.0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
        }
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, sealing).awaitReady(Duration.ofSeconds(60))) {
            Await.until(() -> TestDatabase.queryLong(url, heads) == 0, Duration.ofSeconds(60), "the window sealed once over");
            assertEquals(List.of("0:" + SERIES, "4:" + SERIES), TestDatabase.queryStrings(url, "SELECT hour || ':' || count(*) FROM "
                    + schema + ".sample_blocks GROUP BY hour ORDER BY hour"), "a block a series and window, in the day's one table");
            assertEquals("r", TestDatabase.queryString(url, "SELECT relkind::text FROM pg_class WHERE oid = '" + dayTable + "'::regclass"));
            assertEquals(before, fingerprint(url, schema, all), "every sample, bit for bit, once");
            assertEquals(0.0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"storage-sealing\"}"));
        }
    }

    /** Count and digest of the rows (series, time in ms, the value's bits), in order. */
    private static String fingerprint(String url, String schema, String rows) throws Exception {
        return TestDatabase.queryString(url, "SELECT count(*) || ' ' || md5(string_agg(r.series_id || ':'"
                + " || (extract(epoch FROM r.time) * 1000)::bigint || ':' || encode(float8send(r.value), 'hex'), ','"
                + " ORDER BY r.series_id, r.time)) FROM (" + rows + ") r");
    }
}
