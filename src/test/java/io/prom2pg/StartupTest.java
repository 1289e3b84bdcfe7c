package io.prom2pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import io.prom2pg.support.Await;
import io.prom2pg.support.Prom2pgProcess;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * prom2pg started as a process, the way a user starts it: its usage, the one line that says it is
 * ready, and the one line (and exit code 2) for a setting or a file it cannot use.
 */
class StartupTest {

    private static final Duration EXIT = Duration.ofSeconds(60);

    @Test
    void should_print_its_own_usage_with_every_setting_and_its_default() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-help");
        try (Prom2pgProcess help = Prom2pgProcess.start(dir, Map.of(), "--help")) {
            assertEquals(0, help.awaitExit(EXIT));
            String out = help.output();
            assertTrue(out.startsWith("prom2pg: keeps Prometheus metrics in PostgreSQL"), out);
            assertFalse(out.contains("Unknown option"), out);
            assertTrue(out.contains("README.md"), "says where the docs are");
            Properties declared = new Properties();
            try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
                declared.load(in);
            }
            for (String key : declared.stringPropertyNames()) {
                if (key.startsWith("prom2pg.")) {
                    String env = key.toUpperCase().replace('.', '_').replace('-', '_');
                    assertTrue(out.contains("    " + env + "=" + declared.getProperty(key) + "\n"), env + " with its default");
                }
            }
            assertTrue(out.contains("PROM2PG_DB_URL=\n        "), "with the comment above it in application.properties");
        }
    }

    @Test
    void should_end_start_up_with_one_ready_line_and_no_property_dump() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-ready");
        String url = TestDatabase.shared().jdbcUrl();
        try (Prom2pgProcess prom2pg = Prom2pgProcess.start(dir, Map.of("PROM2PG_DB_URL", url, "PROM2PG_DB_USER", "postgres",
                "PROM2PG_DB_SCHEMA", TestDatabase.newSchema("ready"))).awaitReady(EXIT)) {
            // the line is logged just after readiness turns UP, on the migrating thread
            Await.until(() -> prom2pg.output().contains("prom2pg ready:"), Duration.ofSeconds(10), "the ready line");
            String out = prom2pg.output();
            int port = TestDatabase.shared().port();
            assertTrue(out.contains("prom2pg ready: remote write http://127.0.0.1:" + prom2pg.httpPort + "/api/v1/write"), out);
            assertTrue(out.contains(", console http://127.0.0.1:" + prom2pg.httpPort + "/console/;"), out);
            assertTrue(out.contains("/observe/metrics; data: PostgreSQL at localhost:" + port + "/postgres as postgres"), out);
            assertFalse(out.contains("Property-placeholders summary"), "the settings summary is at debug level");
            assertFalse(out.contains("prom2pg.http.port = "), out);
        }
    }

    @Test
    void should_stop_with_exit_code_2_on_a_database_url_that_is_not_postgresql() throws Exception {
        String out = refused(Map.of("PROM2PG_DB_URL", "mysql://db.example/metrics"));
        assertTrue(out.contains("Not starting: prom2pg.db.url (PROM2PG_DB_URL): 'mysql://db.example/metrics' is not a PostgreSQL URL:"
                + " expected jdbc:postgresql://host:port/database or postgresql://user:password@host:port/database"), out);
    }

    @Test
    void should_stop_with_exit_code_2_naming_the_file_view_and_key_of_a_typo_in_views_yaml() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-views-typo");
        Path views = dir.resolve("views.yaml");
        Files.writeString(views, """
                views:
                  - name: load_by_instance
                    template:
                      metric: node_load1
                      labels: [instance]
                      buckett: 5 minutes
                """);
        String out = refused(Map.of("PROM2PG_VIEWS_FILE", views.toString(), "PROM2PG_DB_URL", TestDatabase.shared().jdbcUrl()));
        assertTrue(out.contains("Not starting: views file " + views + ": view load_by_instance: template: unknown key 'buckett'"
                + " (expected one of metric, labels, bucket, aggregation)"), out);
    }

    @Test
    void should_stop_with_exit_code_2_naming_the_rule_and_key_of_a_typo_in_series_rules() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-rules-typo");
        Path rules = dir.resolve("rules.yaml");
        Files.writeString(rules, """
                keep:
                  - metric: "metering:.*"
                  - metrc: "kube_pod_info"
                """);
        String out = refused(Map.of("PROM2PG_SERIES_RULES_FILE", rules.toString()));
        assertTrue(out.contains("Not starting: series rules " + rules + ": keep rule 2 {metrc=kube_pod_info}: unknown key 'metrc'"
                + " (expected metric, labels)"), out);
    }

    @Test
    void should_stop_with_exit_code_2_on_embedded_settings_that_are_not_name_value_pairs() throws Exception {
        String out = refused(Map.of("PROM2PG_EMBEDDED_SETTINGS", "shared_buffers"));
        assertTrue(out.contains("Not starting: prom2pg.embedded.settings: 'shared_buffers' is not name=value"), out);
    }

    @Test
    void should_stop_with_exit_code_2_when_the_schema_cannot_be_created_for_lack_of_a_privilege() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        try (var c = TestDatabase.connect(url); var st = c.createStatement()) {
            st.execute("DO $$ BEGIN CREATE ROLE prom2pg_no_create LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
        String out = refused(Map.of("PROM2PG_DB_URL", "jdbc:postgresql://localhost:" + TestDatabase.shared().port() + "/postgres",
                "PROM2PG_DB_USER", "prom2pg_no_create", "PROM2PG_DB_SCHEMA", TestDatabase.newSchema("noperm")));
        assertTrue(out.contains("Not starting: schema migration failed, and retrying cannot fix it: database localhost:"
                + TestDatabase.shared().port() + "/postgres: ERROR: permission denied for database postgres (SQLSTATE 42501)"
                + " - the user lacks a privilege prom2pg needs"), out);
    }

    private static String refused(Map<String, String> env) throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-refused");
        try (Prom2pgProcess prom2pg = Prom2pgProcess.start(dir, env)) {
            int code = prom2pg.awaitExit(EXIT);
            String out = prom2pg.output();
            assertEquals(2, code, out);
            assertFalse(Files.exists(dir.resolve("data")), "nothing started on the way");
            return out;
        }
    }
}
