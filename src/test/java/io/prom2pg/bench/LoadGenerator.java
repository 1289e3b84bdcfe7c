package io.prom2pg.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.prom2pg.decode.SnappyDataFormat;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Sends Prometheus-shaped remote write load: N series, requests of B samples, C concurrent
 * senders (like Prometheus' shards, each owning a fixed share of the series so that every series
 * stays in time order), rounds of one sample per series spaced like scrapes, 5xx and 429
 * retried with exponential backoff as Prometheus does. Optionally paced to a fixed rate.
 */
public final class LoadGenerator {

    /** What one phase (a number of rounds) measured. */
    public record Result(String phase, long samplesAcknowledged, long requests, long retries, double seconds,
                         double p50Millis, double p99Millis, double maxMillis, Map<Integer, Long> statusCodes,
                         CpuUsage cpu) {
        double samplesPerSecond() {
            return samplesAcknowledged / seconds;
        }

        String line() {
            return String.format("%-10s %,11d samples in %7.2f s = %,9.0f samples/s; requests %,d, retries %,d;"
                    + " latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; status %s",
                    phase, samplesAcknowledged, seconds, samplesPerSecond(), requests, retries,
                    p50Millis, p99Millis, maxMillis, statusCodes)
                    + "\n           " + cpu.line(seconds);
        }
    }

    private final URI uri;
    private final BenchSeries series;
    private final int senders;
    private final int batch;
    private final long startMillis;
    private final long intervalMillis;
    private long prom2pgPid;

    /** The process whose CPU time each phase reports as prom2pg's. */
    public void setProm2pgPid(long pid) {
        this.prom2pgPid = pid;
    }

    public LoadGenerator(URI uri, BenchSeries series, int senders, int batch, long startMillis, long intervalMillis) {
        this.uri = uri;
        this.series = series;
        this.senders = senders;
        this.batch = batch;
        this.startMillis = startMillis;
        this.intervalMillis = intervalMillis;
    }

    /**
     * Runs rounds {@code firstRound} to {@code firstRound + rounds - 1}.
     *
     * @param rate samples per second to pace to, or 0 for as fast as prom2pg answers
     */
    public Result run(String phase, int firstRound, int rounds, double rate) throws Exception {
        int requestsPerRound = (series.size() + batch - 1) / batch;
        // bodies are built before the clock starts: what is measured is prom2pg, not the generator
        byte[][][] bodies = new byte[rounds][requestsPerRound][];
        for (int k = 0; k < rounds; k++) {
            long timestamp = startMillis + (firstRound + k) * intervalMillis;
            for (int r = 0; r < requestsPerRound; r++) {
                int from = r * batch;
                int to = Math.min(series.size(), from + batch);
                bodies[k][r] = SnappyDataFormat.compress(series.request(from, to, timestamp, firstRound + k));
            }
        }
        Histogram latency = new ConcurrentHistogram(60_000_000_000L, 3);
        LongAdder acknowledged = new LongAdder();
        LongAdder requests = new LongAdder();
        LongAdder retries = new LongAdder();
        Map<Integer, LongAdder> codes = new ConcurrentHashMap<>();
        AtomicLong reserved = new AtomicLong();
        CpuUsage cpuAtStart = CpuUsage.now(prom2pgPid);
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int sender = s;
            Thread t = new Thread(() -> {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(10)).build();
                try {
                    for (int k = 0; k < rounds; k++) {
                        for (int r = sender; r < requestsPerRound; r += senders) {
                            int from = r * batch;
                            int to = Math.min(series.size(), from + batch);
                            if (rate > 0) {
                                long due = start + (long) (reserved.getAndAdd(to - from) / rate * 1e9);
                                long wait = due - System.nanoTime();
                                if (wait > 0) {
                                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                                }
                            }
                            send(http, bodies[k][r], latency, codes, retries);
                            requests.increment();
                            acknowledged.add(to - from);
                        }
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }, "sender-" + s);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        CpuUsage cpu = CpuUsage.now(prom2pgPid).since(cpuAtStart);
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a sender failed", failures.get(0));
        }
        Map<Integer, Long> statusCodes = new TreeMap<>();
        codes.forEach((code, n) -> statusCodes.put(code, n.sum()));
        return new Result(phase, acknowledged.sum(), requests.sum(), retries.sum(), seconds,
                latency.getValueAtPercentile(50) / 1e6, latency.getValueAtPercentile(99) / 1e6,
                latency.getMaxValue() / 1e6, statusCodes, cpu);
    }

    private void send(HttpClient http, byte[] body, Histogram latency, Map<Integer, LongAdder> codes, LongAdder retries)
            throws Exception {
        long backoff = 30;
        while (true) {
            HttpRequest request = HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/x-protobuf")
                    .header("Content-Encoding", "snappy")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                    .build();
            long t0 = System.nanoTime();
            int code;
            try {
                code = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (java.io.IOException e) {
                code = 599; // connection failure: retried like a 5xx
            }
            latency.recordValue(Math.min(System.nanoTime() - t0, 59_000_000_000L));
            codes.computeIfAbsent(code, c -> new LongAdder()).increment();
            if (code / 100 == 2) {
                return;
            }
            if (code / 100 == 4 && code != 429) {
                throw new IllegalStateException("prom2pg answered " + code + ": the load generator sent a bad request");
            }
            retries.increment();
            Thread.sleep(backoff);
            backoff = Math.min(5_000, backoff * 2);
        }
    }
}
