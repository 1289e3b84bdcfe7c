package io.prom2pg.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** The alerts in deploy/ name only metrics a running prom2pg exports (promtool tests their logic). */
class DeployAlertsTest {

    private static final Pattern METRIC = Pattern.compile("\\b((?:prom2pg|process|jvm)_[a-z0-9_]+)\\b");

    @Test
    void should_name_only_metrics_prom2pg_exports_in_its_alert_rules() throws Exception {
        Set<String> used = new TreeSet<>();
        for (String expr : expressions(Path.of("deploy/base/prometheusrule-alerts.yaml"))) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                used.add(m.group(1));
            }
        }
        assertTrue(used.size() >= 6, "the alerts use prom2pg's metrics: " + used);
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("alerts"), Map.of())
                .awaitReady(Duration.ofSeconds(30))) {
            Set<String> exported = prom2pg.exportedMetricNames();
            for (String metric : used) {
                assertTrue(exported.contains(metric), metric + " is not exported at start-up; exported: " + exported);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<String> expressions(Path file) throws Exception {
        Map<String, Object> doc = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file));
        List<String> exprs = new java.util.ArrayList<>();
        for (Object g : (List<Object>) ((Map<String, Object>) doc.get("spec")).get("groups")) {
            for (Object r : (List<Object>) ((Map<String, Object>) g).get("rules")) {
                exprs.add(String.valueOf(((Map<String, Object>) r).get("expr")));
            }
        }
        return exprs;
    }
}
