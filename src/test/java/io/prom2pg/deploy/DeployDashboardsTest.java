package io.prom2pg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prom2pg.support.Metering;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboards under deploy/grafana, offline: every PromQL expression names only
 * metrics prom2pg exports, and every SQL query runs against prom2pg's schema (Grafana's macros
 * substituted) and gives the metering tests' known answer.
 */
class DeployDashboardsTest {

    private static final Path GRAFANA = Path.of("deploy/grafana");
    private static final Pattern METRIC = Pattern.compile("\\b((?:prom2pg|process|jvm)_[a-z0-9_]+)\\b");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void should_name_only_exported_metrics_in_the_health_dashboard() throws Exception {
        JsonNode health = JSON.readTree(GRAFANA.resolve("prom2pg-health.json").toFile());
        List<String> queries = new ArrayList<>();
        health.findValues("expr").forEach(e -> queries.add(e.asText()));
        health.path("templating").path("list").forEach(v -> queries.add(v.path("definition").asText()));
        Set<String> used = new TreeSet<>();
        for (String q : queries) {
            Matcher m = METRIC.matcher(q);
            while (m.find()) {
                used.add(m.group(1));
            }
        }
        assertTrue(used.size() >= 10, "the panels use prom2pg's metrics: " + used);
        checkDataSources(health, "prometheus");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("dash"), Map.of())
                .awaitReady(Duration.ofSeconds(30))) {
            // a request, so that the request histogram has its series
            Metering.writePodCpuRequest(prom2pg, "p", OffsetDateTime.now(ZoneOffset.UTC).minusHours(1), 1);
            Set<String> exported = prom2pg.exportedMetricNames();
            for (String metric : used) {
                assertTrue(exported.contains(metric), metric + " is not exported; exported: " + exported);
            }
        }
    }

    @Test
    void should_run_every_chargeback_query_and_give_the_known_answer() throws Exception {
        JsonNode charge = JSON.readTree(GRAFANA.resolve("prom2pg-chargeback.json").toFile());
        checkDataSources(charge, "grafana-postgresql-datasource");
        String schema = TestDatabase.newSchema("chargeback");
        Map<String, String> fastRollups = Map.of("prom2pg.metering.rollup-interval-ms", "300", "prom2pg.metering.rollup-delay-ms", "0");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), schema, fastRollups)
                .awaitReady(Duration.ofSeconds(30))) {
            OffsetDateTime hour = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS).minusHours(3);
            assertEquals(204, Metering.writePodCpuRequest(prom2pg, "web-1", hour, 120)); // 0.5 cores for 2 h: 1 core-hour
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (Metering.namespaceCpu(prom2pg, hour.plusHours(1)) != 1800 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            List<String> sql = new ArrayList<>();
            charge.findValues("rawSql").forEach(s -> sql.add(s.asText()));
            charge.path("templating").path("list").forEach(v -> {
                if (v.path("type").asText().equals("query")) {
                    sql.add(v.path("query").asText());
                }
            });
            assertEquals(6, sql.size(), "five panels and the namespace variable");
            String from = hour.minusDays(1).toString();
            String to = hour.plusDays(1).toString();
            try (Connection c = TestDatabase.connect(TestDatabase.shared().jdbcUrl()); Statement st = c.createStatement()) {
                for (String q : sql) {
                    String grafana = q.replace("$__timeFilter(hour)", "hour BETWEEN '" + from + "' AND '" + to + "'")
                            .replace("${namespace:sqlstring}", "'shop'")
                            .replace("prom2pg.", schema + ".");
                    assertTrue(!grafana.contains("$"), "a macro left: " + grafana);
                    try (ResultSet rs = st.executeQuery(grafana)) {
                        assertTrue(rs.next(), "rows from: " + grafana);
                        if (q.contains("cpu_requested_core_hours")) {
                            assertEquals("shop", rs.getString("namespace"));
                            assertEquals(1.0, rs.getDouble("cpu_requested_core_hours"), 1e-9, "0.5 cores for 2 h");
                        }
                    }
                }
            }
        }
    }

    @Test
    void should_ship_the_dashboards_in_a_configmap_for_the_grafana_sidecar() throws Exception {
        String kustomization = Files.readString(GRAFANA.resolve("kustomization.yaml"));
        assertTrue(kustomization.contains("grafana_dashboard: \"1\""), kustomization);
        assertTrue(kustomization.contains("- prom2pg-health.json") && kustomization.contains("- prom2pg-chargeback.json"));
        assertTrue(Files.readString(GRAFANA.resolve("provisioning/dashboards.yaml")).contains("type: file"));
        Set<String> uids = new TreeSet<>();
        for (String f : List.of("prom2pg-health.json", "prom2pg-chargeback.json")) {
            uids.add(JSON.readTree(GRAFANA.resolve(f).toFile()).path("uid").asText());
        }
        assertEquals(Set.of("prom2pg-health", "prom2pg-chargeback"), uids);
    }

    /** Every panel and query asks for the dashboard's data source variable, of the right type. */
    private static void checkDataSources(JsonNode dashboard, String type) {
        for (JsonNode ds : dashboard.findValues("datasource")) {
            assertEquals(type, ds.path("type").asText(), ds.toString());
            assertEquals("${datasource}", ds.path("uid").asText(), ds.toString());
        }
    }
}
