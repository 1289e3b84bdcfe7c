package io.prom2pg.bench;

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
import java.util.function.Predicate;

/**
 * Samples the receiver once a second while the benchmark runs: samples written (from its own
 * metrics), heap in use, and the process' resident memory (from /proc).
 */
final class Monitor implements AutoCloseable {

    record Point(double seconds, double written, double heapBytes, double rssBytes) {
    }

    /** Which lines of a receiver's metrics hold its samples written and its heap in use (each summed). */
    record Source(Predicate<String> written, Predicate<String> heap) {
        /** prom2pg: samples written to PostgreSQL, the JVM's heap */
        static final Source PROM2PG = new Source(line -> line.startsWith("prom2pg_samples_written_total "),
                line -> line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\""));
        /** Prometheus: samples appended to its head, the Go heap's spans in use */
        static final Source PROMETHEUS = new Source(
                line -> line.startsWith("prometheus_tsdb_head_samples_appended_total ")
                        || line.startsWith("prometheus_tsdb_head_samples_appended_total{"),
                line -> line.startsWith("go_memstats_heap_inuse_bytes "));
    }

    private final URI metrics;
    private final long pid;
    private final Source source;
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<Point> points = new ArrayList<>();
    private final long start = System.nanoTime();
    private final Thread thread;
    private volatile boolean running = true;

    Monitor(URI metrics, long pid) {
        this(metrics, pid, Source.PROM2PG);
    }

    Monitor(URI metrics, long pid, Source source) {
        this.metrics = metrics;
        this.pid = pid;
        this.source = source;
        thread = new Thread(this::loop, "monitor");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        while (running) {
            try {
                String text = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                double written = 0;
                double heap = 0;
                for (String line : text.split("\n")) {
                    if (source.written().test(line)) {
                        written += value(line);
                    } else if (source.heap().test(line)) {
                        heap += value(line);
                    }
                }
                Point p = new Point((System.nanoTime() - start) / 1e9, written, heap, rss());
                synchronized (points) {
                    points.add(p);
                }
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                // the receiver busy or gone: try again next second
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static double value(String line) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }

    private double rss() throws IOException {
        Path status = Path.of("/proc", String.valueOf(pid), "status");
        if (pid <= 0 || !Files.exists(status)) {
            return 0;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Double.parseDouble(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    List<Point> points() {
        synchronized (points) {
            return new ArrayList<>(points);
        }
    }

    double peakHeap() {
        return points().stream().mapToDouble(Point::heapBytes).max().orElse(0);
    }

    double peakRss() {
        return points().stream().mapToDouble(Point::rssBytes).max().orElse(0);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join();
    }
}
