package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Which series are stored is a YAML edit: keep and drop rules, dropped labels. */
class SeriesRulesTest {

    static final long T0 = 1_795_493_700_000L;

    @Test
    void should_keep_only_metering_series_with_the_shipped_metering_rules() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("rules");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema,
                Map.of("prom2pg.series.rules-file", "routes/config/series-rules-metering.yaml")).awaitReady(Duration.ofSeconds(30))) {
            WriteRequest request = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "metering:pod_request_cpu_cores", "namespace", "a").addSamples(sample(T0, 0.5)))
                    .addTimeseries(series("__name__", "node_load1", "instance", "x").addSamples(sample(T0, 1)).addSamples(sample(T0 + 1, 2)))
                    .build();
            for (int i = 0; i < 2; i++) { // the second time from the cache
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            }
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics"));
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series"),
                    "a filtered series is not created");
            assertEquals(4, prom2pg.metric("prom2pg_samples_rejected_total{reason=\"filtered\"}"));
        }
    }

    @Test
    void should_store_a_metric_added_to_the_metering_rules_by_a_yaml_edit_only() throws Exception {
        // the README's "Add a metric": the metering-only rules plus one keep rule
        Path rules = Files.createTempFile("series-rules", ".yaml");
        Files.writeString(rules, Files.readString(Path.of("routes/config/series-rules-metering.yaml"))
                + "  - metric: \"kube_pod_info\"\n    labels: {namespace: \"shop|billing\"}\n");
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("rules");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema,
                Map.of("prom2pg.series.rules-file", rules.toString())).awaitReady(Duration.ofSeconds(30))) {
            WriteRequest request = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "kube_pod_info", "namespace", "shop", "pod", "a").addSamples(sample(T0, 1)))
                    .addTimeseries(series("__name__", "kube_pod_info", "namespace", "kube-system", "pod", "b").addSamples(sample(T0, 1)))
                    .addTimeseries(series("__name__", "metering:pod_request_cpu_cores", "pod", "a").addSamples(sample(T0, 0.5)))
                    .addTimeseries(series("__name__", "node_load1").addSamples(sample(T0, 1)))
                    .build();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'kube_pod_info'"));
            assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics"));
        }
    }

    @Test
    void should_drop_series_and_labels_as_the_rules_say() throws Exception {
        Path rules = Files.createTempFile("series-rules", ".yaml");
        Files.writeString(rules, """
                drop:
                  - metric: "go_.*"
                  - labels: {namespace: "kube-.*"}
                dropLabels: [uid]
                """);
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("rules");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema,
                Map.of("prom2pg.series.rules-file", rules.toString())).awaitReady(Duration.ofSeconds(30))) {
            WriteRequest request = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "go_goroutines").addSamples(sample(T0, 10)))
                    .addTimeseries(series("__name__", "up", "namespace", "kube-system").addSamples(sample(T0, 1)))
                    .addTimeseries(series("__name__", "up", "namespace", "shop", "uid", "a1").addSamples(sample(T0, 1)))
                    .addTimeseries(series("__name__", "up", "namespace", "shop", "uid", "b2").addSamples(sample(T0 + 1000, 1)))
                    .addTimeseries(series("__name__", "up").addSamples(sample(T0, 1)))
                    .build();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series"),
                    "up{namespace=shop} once (uid dropped) and up{} (no namespace label: matches as empty, not kube-)");
            assertEquals(3, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics"));
            assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series WHERE labels ? 'uid'"));
        }
    }

    @Test
    void should_leave_out_the_labels_of_the_dropped_labels_setting() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("dropset");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema,
                Map.of("prom2pg.series.dropped-labels", "pod_uid, container_id")).awaitReady(Duration.ofSeconds(30))) {
            WriteRequest request = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "up", "job", "a", "pod_uid", "1", "container_id", "x").addSamples(sample(T0, 1)))
                    .addTimeseries(series("__name__", "up", "job", "a", "pod_uid", "2").addSamples(sample(T0 + 1000, 1)))
                    .build();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request).statusCode());
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series"), "one series once both are left out");
            assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE labels = '{\"job\": \"a\"}'"));
        }
    }
}
