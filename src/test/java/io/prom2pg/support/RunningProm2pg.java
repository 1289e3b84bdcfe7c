package io.prom2pg.support;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import io.prom2pg.Prom2pg;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * prom2pg started in this JVM from the project's real routes/ folder, on free ports. Either
 * {@link #start} it, or let JUnit run it for a test class on the shared test database:
 * {@code @RegisterExtension static final RunningProm2pg prom2pg = RunningProm2pg.forTests("name", Map.of(...));}
 * starts it (and waits until it is ready) before the class's tests and stops it after them.
 */
public final class RunningProm2pg implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public final int httpPort;
    public final int managementPort;
    public final String schema;
    private final Map<String, String> props;
    private Prom2pg app;

    private RunningProm2pg(int httpPort, int managementPort, String schema, Map<String, String> props) {
        this.httpPort = httpPort;
        this.managementPort = managementPort;
        this.schema = schema;
        this.props = props;
    }

    /** Starts prom2pg against the given JDBC URL (empty for the embedded server). */
    public static RunningProm2pg start(String jdbcUrl, String schema, Map<String, String> extra) throws Exception {
        RunningProm2pg p = planned(jdbcUrl, schema, extra);
        p.app = Prom2pg.start(p.props);
        return p;
    }

    /**
     * A JUnit extension: prom2pg on the shared test database, in a schema of its own named after
     * {@code name}, with the {@code extra} settings; started and ready before the class's tests.
     */
    public static RunningProm2pg forTests(String name, Map<String, String> extra) {
        return planned(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema(name), extra);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        app = Prom2pg.start(props);
        awaitReady(Duration.ofSeconds(30));
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (app != null) {
            close();
        }
    }

    /** The JDBC URL of the database it writes to. */
    public String jdbcUrl() {
        return props.get("prom2pg.db.url");
    }

    private static RunningProm2pg planned(String jdbcUrl, String schema, Map<String, String> extra) {
        int http = Ports.free();
        int management = Ports.free();
        Map<String, String> props = new HashMap<>();
        props.put("prom2pg.http.host", "127.0.0.1");
        props.put("prom2pg.http.port", String.valueOf(http));
        props.put("prom2pg.management.port", String.valueOf(management));
        props.put("prom2pg.db.url", jdbcUrl);
        props.put("prom2pg.db.user", "postgres");
        props.put("prom2pg.db.schema", schema);
        props.put("prom2pg.db.ping-interval-ms", "200");
        props.put("prom2pg.db.connection-timeout-ms", "2000");
        props.putAll(extra);
        return new RunningProm2pg(http, management, schema, Map.copyOf(props));
    }

    public Prom2pg app() {
        return app;
    }

    public URI writeUri() {
        return URI.create("http://127.0.0.1:" + httpPort + "/api/v1/write");
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + httpPort + path);
    }

    public HttpResponse<String> management(String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    public boolean isReady() throws Exception {
        return management("/observe/health/ready").statusCode() == 200;
    }

    /** Waits until readiness is up, failing after the timeout. */
    public RunningProm2pg awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isReady()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("prom2pg not ready after " + timeout + ": "
                        + management("/observe/health/ready").body());
            }
            Thread.sleep(100);
        }
        return this;
    }

    /** The metric names /observe/metrics shows now (histograms with their _bucket, _count, _sum). */
    public java.util.Set<String> exportedMetricNames() throws Exception {
        java.util.Set<String> exported = new java.util.TreeSet<>();
        for (String line : management("/observe/metrics").body().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                exported.add(line.split("[{ ]", 2)[0]);
            }
        }
        return exported;
    }

    /** The value of one line of /observe/metrics, e.g. {@code prom2pg_samples_written_total}. */
    public double metric(String series) throws Exception {
        for (String line : management("/observe/metrics").body().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError("no metric line " + series);
    }

    @Override
    public void close() throws Exception {
        app.stop();
    }
}
