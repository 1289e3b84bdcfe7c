package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Views are a YAML edit: created at start-up, replaced on change, and a broken one stops start-up with the reason. */
class ViewsTest {

    static final long T0 = 1_795_493_700_000L;

    @Test
    void should_create_views_from_yaml_and_replace_them_when_the_file_changes() throws Exception {
        Path file = Files.createTempFile("views", ".yaml");
        Files.writeString(file, """
                views:
                  - name: test_up
                    description: up per 5 minutes
                    template:
                      metric: up
                      labels: [job]
                      bucket: 5 minutes
                      aggregation: min
                """);
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("views");
        String viewsSchema = schema + "_v";
        Map<String, String> props = Map.of("prom2pg.views.file", file.toString(), "prom2pg.views.schema", viewsSchema,
                "prom2pg.views.check-interval-ms", "200");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, props).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "up", "job", "a").addSamples(sample(T0, 1)).addSamples(sample(T0 + 15_000, 0)))
                    .build()).statusCode());
            assertEquals(0, TestDatabase.queryLong(url, "SELECT value FROM " + viewsSchema + ".test_up WHERE job = 'a'"),
                    "min of 1 and 0 in the bucket");

            Files.writeString(file, """
                    views:
                      - name: test_up
                        description: every up sample
                        sql: SELECT time, value FROM %s.metrics WHERE name = 'up'
                    """.formatted(schema));
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            long rows = -1;
            while (rows != 2 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                try {
                    rows = TestDatabase.queryLong(url, "SELECT count(*) FROM " + viewsSchema + ".test_up");
                } catch (java.sql.SQLException e) {
                    rows = -1;
                }
            }
            assertEquals(2, rows, "the view was replaced by the new definition");

            // a broken edit: logged and counted by the route, the view already there stays
            String failures = "prom2pg_maintenance_failures_total{route=\"views-sync\"}";
            assertEquals(0, prom2pg.metric(failures));
            Files.writeString(file, """
                    views:
                      - name: test_up
                        template:
                          metric: up
                          buckett: 5 minutes
                    """);
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (prom2pg.metric(failures) < 1 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(1, prom2pg.metric(failures), "one failure for the broken edit, not one per check");
            Thread.sleep(600);
            assertEquals(1, prom2pg.metric(failures), "the same broken file is not tried again every check");
            assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + viewsSchema + ".test_up"), "the old view stays");
        }
    }

    @Test
    void should_refuse_to_start_with_a_broken_view_naming_the_file_the_view_and_the_error() throws Exception {
        Path file = Files.createTempFile("views", ".yaml");
        Files.writeString(file, """
                views:
                  - name: test_broken
                    description: refers to a column that does not exist
                    sql: SELECT no_such_column FROM pg_class
                """);
        Map<String, String> props = Map.of("prom2pg.views.file", file.toString());
        Exception e = assertThrows(Exception.class, () -> RunningProm2pg.start(TestDatabase.shared().jdbcUrl(),
                TestDatabase.newSchema("views"), props).close());
        String message = rootMessage(e);
        assertTrue(message.contains(file.toString()), message);
        assertTrue(message.contains("view test_broken"), message);
        assertTrue(message.contains("no_such_column"), message);
    }

    private static String rootMessage(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }
}
