package io.prom2pg.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * prom2pg as a user runs it: its own JVM ({@code io.prom2pg.Prom2pg}'s main, the test class
 * path), a working directory, settings as environment variables, output to a log file. For
 * what only a process shows: exit codes, the start-up log, two instances side by side.
 */
public final class Prom2pgProcess implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public final Path workDir;
    public final Path log;
    public final int httpPort;
    public final int managementPort;
    private final Process process;

    private Prom2pgProcess(Path workDir, Path log, int httpPort, int managementPort, Process process) {
        this.workDir = workDir;
        this.log = log;
        this.httpPort = httpPort;
        this.managementPort = managementPort;
        this.process = process;
    }

    /** Starts prom2pg in the folder with these environment variables (ports are chosen here) and arguments. */
    public static Prom2pgProcess start(Path workDir, Map<String, String> env, String... args) throws IOException {
        Files.createDirectories(workDir);
        int http = Ports.free();
        int management = Ports.free();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", classPath, "io.prom2pg.Prom2pg"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
        Path log = Files.createTempFile(workDir, "prom2pg", ".log");
        pb.redirectOutput(log.toFile());
        pb.environment().put("PROM2PG_HTTP_HOST", "127.0.0.1");
        pb.environment().put("PROM2PG_HTTP_PORT", String.valueOf(http));
        pb.environment().put("PROM2PG_MANAGEMENT_PORT", String.valueOf(management));
        pb.environment().put("PROM2PG_DB_PING_INTERVAL_MS", "200");
        pb.environment().putAll(env);
        return new Prom2pgProcess(workDir, log, http, management, pb.start());
    }

    /** Waits for the process to end; its exit code. */
    public int awaitExit(Duration timeout) throws Exception {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("prom2pg still running after " + timeout + ":\n" + output());
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    public String output() throws IOException {
        return Files.readString(log);
    }

    public int readyStatus() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/observe/health/ready"))
                    .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /** Waits until readiness answers 200, failing with the log after the timeout. */
    public Prom2pgProcess awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (readyStatus() != 200) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("prom2pg not ready (alive: " + process.isAlive() + "):\n" + output());
            }
            Thread.sleep(200);
        }
        return this;
    }

    public URI writeUri() {
        return URI.create("http://127.0.0.1:" + httpPort + "/api/v1/write");
    }

    /** Kills prom2pg at once (SIGKILL, as kill -9 does): no shutdown hook, no rollback of its own. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** Stops prom2pg as a terminal or Kubernetes does (SIGTERM), then kills it if it lingers. */
    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(40, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
