package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The README's SQL is what users copy first: every statement of its {@code sql} blocks runs
 * against a running prom2pg's schema, and the ones that read a metric give the samples written.
 */
class ReadmeSqlTest {

    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("readme_sql", Map.of());

    private static final Pattern BLOCK = Pattern.compile("```sql\n(.*?)```", Pattern.DOTALL);

    @Test
    void should_run_every_sql_statement_of_the_readme() throws Exception {
        long now = System.currentTimeMillis();
        WriteRequest.Builder w = WriteRequest.newBuilder();
        var load = series("__name__", "node_load1", "instance", "node-1:9100", "job", "node");
        for (int k = 1; k <= 3; k++) {
            load.addSamples(sample(now - k * 60_000L, k));
        }
        w.addTimeseries(load);
        w.addTimeseries(series("__name__", "up", "instance", "node-1:9100", "job", "node").addSamples(sample(now - 60_000L, 1)));
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), w.build()).statusCode());

        Map<String, List<String>> answers = new LinkedHashMap<>();
        try (Connection c = TestDatabase.connect(prom2pg.jdbcUrl())) {
            for (String statement : statements(Files.readString(Path.of("README.md")))) {
                if (statement.contains("prom2pg_views.")) {
                    continue; // a view the README defines in views.yaml as an example
                }
                String sql = statement.replaceAll("\\bprom2pg\\.", prom2pg.schema + ".");
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                    List<String> first = new ArrayList<>();
                    while (rs.next()) {
                        first.add(rs.getString(1));
                    }
                    answers.put(statement, first);
                } catch (SQLException e) {
                    throw new AssertionError("the README's statement fails: " + statement + "\n" + e.getMessage(), e);
                }
            }
        }
        assertTrue(answers.size() >= 8, "the README's statements were found: " + answers.keySet());
        assertEquals(3, answer(answers, "the last hour of one metric").size(), "node_load1's last hour");
        assertEquals(3, answer(answers, "one series over a week").size(), "node_load1's week");
        assertEquals(1, answer(answers, "label matchers are jsonb containment").size(), "up{job=\"node\"}");
        assertEquals(List.of("1"), answer(answers, "real values only"), "up's one sample, not a stale marker");
        assertEquals(List.of(), answer(answers, "stale markers"));
    }

    /** The statements of the README's sql blocks, each with the comment lines before it. */
    static List<String> statements(String readme) {
        List<String> statements = new ArrayList<>();
        Matcher m = BLOCK.matcher(readme);
        while (m.find()) {
            for (String s : m.group(1).split(";\\s*\n")) {
                boolean code = s.lines().anyMatch(l -> !l.isBlank() && !l.trim().startsWith("--"));
                if (code) {
                    statements.add(s.strip());
                }
            }
        }
        return statements;
    }

    /** The first column of the rows of the statement after {@code -- comment}. */
    private static List<String> answer(Map<String, List<String>> answers, String comment) {
        return answers.entrySet().stream().filter(e -> e.getKey().contains("-- " + comment)).map(Map.Entry::getValue)
                .findFirst().orElseThrow(() -> new AssertionError("no README statement after '-- " + comment + "'"));
    }
}
