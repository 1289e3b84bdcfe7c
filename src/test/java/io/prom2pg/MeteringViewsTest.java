package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Metering views with known answers: value x the time it covers, per UTC hour. */
class MeteringViewsTest {

    /** 2026-11-01T00:00:00Z, on an hour. */
    static final long H0 = 1_793_491_200_000L;
    static String url;
    static RunningProm2pg prom2pg;

    @BeforeAll
    static void start() throws Exception {
        url = TestDatabase.shared().jdbcUrl();
        prom2pg = RunningProm2pg.start(url, TestDatabase.newSchema("metering"), Map.of()).awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        prom2pg.close();
    }

    @Test
    void should_bill_a_constant_half_core_for_two_hours_at_60s_as_1800_core_seconds_an_hour() throws Exception {
        TimeSeries.Builder ts = series("__name__", "metering:pod_request_cpu_cores", "namespace", "shop", "pod", "web-1", "node", "n1");
        for (int i = 0; i <= 120; i++) {
            ts.addSamples(sample(H0 + i * 60_000L, 0.5));
        }
        write(ts);
        Map<String, Double> hours = hourly("SELECT hour, cpu_request_core_seconds FROM %s.metering_pod_hourly WHERE pod = 'web-1'");
        assertEquals(1800.0, hours.get("2026-11-01 00:00:00+00"));
        assertEquals(1800.0, hours.get("2026-11-01 01:00:00+00"));
        assertEquals(Map.of("shop", 3600.0 + 0.5 * 600), namespaces(), "the last sample covers the cap (10 min) into hour 2");
    }

    @Test
    void should_bill_counter_increases_and_survive_a_reset() throws Exception {
        // core-seconds used: 0, 60, 120, reset to 30, 90 at one-minute steps
        TimeSeries.Builder ts = series("__name__", "metering:pod_usage_cpu_cores", "namespace", "batch", "pod", "job-1", "node", "n2");
        double[] values = {0, 60, 120, 30, 90};
        for (int i = 0; i < values.length; i++) {
            ts.addSamples(sample(H0 + 7200_000L + i * 60_000L, values[i]));
        }
        write(ts);
        Map<String, Double> hours = hourly("SELECT hour, cpu_usage_core_seconds FROM %s.metering_pod_hourly WHERE pod = 'job-1'");
        assertEquals(Map.of("2026-11-01 02:00:00+00", 60.0 + 60 + 30 + 60), hours);
    }

    @Test
    void should_cap_a_gap_so_a_stopped_pod_is_not_billed_for_it() throws Exception {
        // 2 GiB requested, one sample, then nothing for an hour, then one more
        TimeSeries.Builder ts = series("__name__", "metering:pod_request_memory_bytes", "namespace", "gap", "pod", "p", "node", "n3")
                .addSamples(sample(H0 + 10 * 3600_000L, 2.0 * (1L << 30)))
                .addSamples(sample(H0 + 11 * 3600_000L + 1_800_000L, 2.0 * (1L << 30)));
        write(ts);
        Map<String, Double> hours = hourly("SELECT hour, memory_request_byte_seconds FROM %s.metering_pod_hourly WHERE pod = 'p'");
        assertEquals(2.0 * (1L << 30) * 600, hours.get("2026-11-01 10:00:00+00"), "10 minutes, not the hour and a half");
        assertEquals(2.0 * (1L << 30) * 600, hours.get("2026-11-01 11:00:00+00"));
    }

    @Test
    void should_split_a_sample_interval_across_the_hours_it_spans() throws Exception {
        TimeSeries.Builder ts = series("__name__", "metering:node_capacity_cpu_cores", "node", "n9", "provider_id", "aws:///i-1")
                .addSamples(sample(H0 + 20 * 3600_000L - 120_000L, 4))   // 19:58
                .addSamples(sample(H0 + 20 * 3600_000L + 180_000L, 4));  // 20:03
        write(ts);
        Map<String, Double> hours = hourly("SELECT hour, cpu_capacity_core_seconds FROM %s.metering_node_hourly WHERE node = 'n9'");
        assertEquals(4.0 * 120, hours.get("2026-11-01 19:00:00+00"));
        assertEquals(4.0 * 180 + 4.0 * 600, hours.get("2026-11-01 20:00:00+00"));
    }

    @Test
    void should_take_a_measure_from_the_metric_the_views_file_names() throws Exception {
        java.nio.file.Path views = java.nio.file.Files.createTempFile("views", ".yaml");
        java.nio.file.Files.writeString(views, "metering:\n  pod_cpu_request: \"custom_pod_cpu_requests\"\n");
        try (RunningProm2pg own = RunningProm2pg.start(url, TestDatabase.newSchema("metering"),
                Map.of("prom2pg.views.file", views.toString())).awaitReady(Duration.ofSeconds(30))) {
            TimeSeries.Builder ts = series("__name__", "custom_pod_cpu_requests", "namespace", "x", "pod", "custom", "node", "n");
            for (int i = 0; i <= 60; i++) {
                ts.addSamples(sample(H0 + i * 60_000L, 1));
            }
            assertEquals(204, RemoteWrite.post(own.writeUri(), WriteRequest.newBuilder().addTimeseries(ts).build()).statusCode());
            assertEquals(3600, TestDatabase.queryLong(url, "SELECT cpu_request_core_seconds::int8 FROM " + own.schema
                    + ".metering_pod_hourly WHERE pod = 'custom' AND hour = '2026-11-01T00:00:00Z'"));
        }
    }

    private static void write(TimeSeries.Builder ts) throws Exception {
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder().addTimeseries(ts).build()).statusCode());
    }

    private static Map<String, Double> hourly(String sql) throws Exception {
        Map<String, Double> out = new TreeMap<>();
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
            st.execute("SET TIME ZONE 'UTC'");
            try (ResultSet rs = st.executeQuery(String.format(sql, prom2pg.schema))) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getDouble(2));
                }
            }
        }
        return out;
    }

    private static Map<String, Double> namespaces() throws Exception {
        Map<String, Double> out = new TreeMap<>();
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT namespace, sum(cpu_request_core_seconds) FROM " + prom2pg.schema
                     + ".metering_namespace_hourly WHERE namespace = 'shop' GROUP BY 1")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getDouble(2));
            }
        }
        return out;
    }
}
