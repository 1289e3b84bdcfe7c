package io.prom2pg.config;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * prom2pg's settings as {@code application.properties} declares them: each {@code prom2pg.*} key
 * with its default, the comment above it and the section it is in. The usage text is built from
 * it, so that it cannot drift from the defaults.
 */
public final class Settings {

    /** One setting: its key, default, the comment written above it, and its section's title. */
    public record Setting(String key, String defaultValue, String comment, String section) {
        public String environmentVariable() {
            return ConfigurationException.environmentVariable(key);
        }
    }

    private Settings() {
    }

    /**
     * The items of a comma-separated setting ({@code a, b,,c}), trimmed, empty ones left out, in
     * their order.
     */
    public static List<String> commaSeparated(String value) {
        List<String> items = new ArrayList<>();
        if (value != null) {
            for (String item : value.split(",")) {
                if (!item.isBlank()) {
                    items.add(item.strip());
                }
            }
        }
        return List.copyOf(items);
    }

    /** The settings of the {@code application.properties} packed with prom2pg, in file order. */
    public static List<Setting> declared() {
        try (InputStream in = Settings.class.getResourceAsStream("/application.properties")) {
            if (in == null) {
                throw new IllegalStateException("application.properties is not on the class path");
            }
            return parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Setting> parse(InputStream in) throws IOException {
        List<Setting> settings = new ArrayList<>();
        String section = "";
        StringBuilder comment = new StringBuilder();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            String t = line.strip();
            if (t.isEmpty()) {
                comment.setLength(0);
            } else if (t.startsWith("# ---")) {
                section = t.substring(5).strip();
                comment.setLength(0);
            } else if (t.startsWith("#")) {
                comment.append(comment.length() > 0 ? " " : "").append(t.substring(1).strip());
            } else {
                int eq = t.indexOf('=');
                String key = (eq < 0 ? t : t.substring(0, eq)).strip();
                if (key.startsWith("prom2pg.")) {
                    settings.add(new Setting(key, eq < 0 ? "" : t.substring(eq + 1).strip(), comment.toString(), section));
                }
                comment.setLength(0);
            }
        }
        return List.copyOf(settings);
    }

    /** What {@code --help} prints. */
    public static String usage() {
        StringBuilder out = new StringBuilder();
        out.append("""
                prom2pg: keeps Prometheus metrics in PostgreSQL. It receives Prometheus remote_write
                (POST /api/v1/write), answers remote_read (/api/v1/read) and metering reports
                (/api/v1/reports/...), and stores samples in PostgreSQL: its own embedded server by
                default, or yours with PROM2PG_DB_URL.

                Usage: bin/prom2pg            (or: java -jar target/prom2pg.jar)
                       bin/prom2pg --help

                Settings: environment variables (or -Dkey=value, or application.properties); the
                name is the key in upper case with dots and dashes as underscores. Defaults:
                """);
        String section = null;
        for (Setting s : declared()) {
            if (!s.section().equals(section)) {
                section = s.section();
                out.append('\n').append("  ").append(section).append('\n');
            }
            out.append("    ").append(s.environmentVariable()).append('=').append(s.defaultValue());
            if (!s.comment().isEmpty()) {
                out.append("\n        ").append(s.comment());
            }
            out.append('\n');
        }
        out.append("""

                Health and metrics: http://localhost:9876/observe/health/ready, /observe/metrics
                Documentation: README.md (configuration, Prometheus set-up, metering, troubleshooting),
                deploy/README.md (Kubernetes and OpenShift), BENCHMARKS.md (sizing).
                """);
        return out.toString();
    }
}
