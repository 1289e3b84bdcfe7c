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
import java.util.stream.IntStream;

import io.prom2pg.decode.SnappyDataFormat;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Sends Prometheus-shaped remote write load: N series, requests of B samples, C concurrent
 * senders (like Prometheus' shards, each owning a fixed share of the series so that every series
 * stays in time order), rounds of one sample per series spaced like scrapes, 5xx and 429
 * retried with exponential backoff as Prometheus does. Optionally paced to a fixed rate. The
 * same generator, with the same series and timeline, sends the same request bodies to any
 * receiver: prom2pg, or Prometheus' own remote-write receiver to compare with.
 */
public final class LoadGenerator {

    /** What one phase (a number of rounds) measured. */
    public record Result(String phase, long samplesAcknowledged, long requests, long retries, double seconds,
                         double p50Millis, double p99Millis, double maxMillis, Map<Integer, Long> statusCodes,
                         CpuUsage cpu, String receiver, boolean postgres) {
        double samplesPerSecond() {
            return samplesAcknowledged / seconds;
        }

        String line() {
            return String.format("%-10s %,11d samples in %7.2f s = %,9.0f samples/s; requests %,d, retries %,d;"
                    + " latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; status %s",
                    phase, samplesAcknowledged, seconds, samplesPerSecond(), requests, retries,
                    p50Millis, p99Millis, maxMillis, statusCodes)
                    + "\n           " + cpu.line(seconds, receiver, postgres);
        }
    }

    /**
     * Something done once while a phase sends, on a thread of its own (the senders go on): when
     * {@code afterMillis} have passed since the phase's clock started, or when {@code atShare} of
     * its samples were acknowledged, whichever comes first (so that it falls inside a short phase too).
     */
    public record Trigger(long afterMillis, double atShare, Action action) {
        /** What the trigger does; told how far into the phase it fired. */
        public interface Action {
            void fire(double secondsIntoPhase) throws Exception;
        }
    }

    /**
     * What senders sent and were answered, shared by them: requests, samples acknowledged,
     * retries, latency of each attempt, and the status codes answered.
     */
    static final class Tally {
        final Histogram latency = new ConcurrentHistogram(60_000_000_000L, 3);
        final Map<Integer, LongAdder> codes = new ConcurrentHashMap<>();
        final LongAdder retries = new LongAdder();
        final LongAdder requests = new LongAdder();
        final LongAdder acknowledged = new LongAdder();

        /** The status codes answered, each with how many times, in order. */
        Map<Integer, Long> statusCodes() {
            Map<Integer, Long> statusCodes = new TreeMap<>();
            codes.forEach((code, n) -> statusCodes.put(code, n.sum()));
            return statusCodes;
        }

        double latencyMillis(double percentile) {
            return latency.getValueAtPercentile(percentile) / 1e6;
        }
    }

    private final URI uri;
    private final BenchSeries series;
    private final int senders;
    private final int batch;
    private final long startMillis;
    private final long intervalMillis;
    private long receiverPid;
    private String receiverName = "prom2pg";
    private boolean countPostgres = true;

    /** The process whose CPU time each phase reports as prom2pg's. */
    public void setProm2pgPid(long pid) {
        setReceiver("prom2pg", pid, true);
    }

    /**
     * The receiver each phase reports the CPU time of: its name, its process, and whether
     * PostgreSQL's processes are counted as well.
     */
    public void setReceiver(String name, long pid, boolean postgres) {
        this.receiverName = name;
        this.receiverPid = pid;
        this.countPostgres = postgres;
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
     * @param rate samples per second to pace to, or 0 for as fast as the receiver answers
     */
    public Result run(String phase, int firstRound, int rounds, double rate) throws Exception {
        return run(phase, firstRound, rounds, rate, rounds, null);
    }

    /**
     * Runs rounds {@code firstRound} to {@code firstRound + rounds - 1}, building the bodies of
     * {@code sliceRounds} rounds at a time (a long phase would not fit in memory as a whole). The
     * clock runs only while a slice is sent; latency, counts and CPU are summed over the slices.
     *
     * @param rate samples per second to pace to, or 0 for as fast as the receiver answers
     * @param trigger done once during the first slice, or null
     */
    public Result run(String phase, int firstRound, int rounds, double rate, int sliceRounds, Trigger trigger)
            throws Exception {
        Tally tally = new Tally();
        double seconds = 0;
        CpuUsage cpu = new CpuUsage(0, 0, 0);
        for (int first = 0; first < rounds; first += sliceRounds) {
            int slice = Math.min(sliceRounds, rounds - first);
            // bodies are built before the clock starts: what is measured is the receiver, not the generator
            byte[][][] bodies = bodies(firstRound + first, slice);
            CpuUsage cpuAtStart = CpuUsage.now(receiverPid, countPostgres);
            long start = System.nanoTime();
            TriggerThread fired = trigger != null && first == 0
                    ? new TriggerThread(trigger, start, tally.acknowledged, (long) slice * series.size()) : null;
            send(bodies, rate, start, tally);
            seconds += (System.nanoTime() - start) / 1e9;
            cpu = cpu.plus(CpuUsage.now(receiverPid, countPostgres).since(cpuAtStart));
            if (fired != null) {
                fired.finish();
            }
        }
        return new Result(phase, tally.acknowledged.sum(), tally.requests.sum(), tally.retries.sum(), seconds,
                tally.latencyMillis(50), tally.latencyMillis(99), tally.latency.getMaxValue() / 1e6,
                tally.statusCodes(), cpu, receiverName, countPostgres);
    }

    /** The compressed request bodies of rounds {@code firstRound} .. {@code firstRound + rounds - 1}, by round and request. */
    private byte[][][] bodies(int firstRound, int rounds) {
        int requestsPerRound = (series.size() + batch - 1) / batch;
        byte[][][] bodies = new byte[rounds][requestsPerRound][];
        IntStream.range(0, rounds * requestsPerRound).parallel().forEach(i -> {
            int k = i / requestsPerRound;
            int r = i % requestsPerRound;
            long timestamp = startMillis + (firstRound + k) * intervalMillis;
            int from = r * batch;
            int to = Math.min(series.size(), from + batch);
            bodies[k][r] = SnappyDataFormat.compress(series.request(from, to, timestamp, firstRound + k));
        });
        return bodies;
    }

    private void send(byte[][][] bodies, double rate, long start, Tally tally) throws Exception {
        int rounds = bodies.length;
        int requestsPerRound = (series.size() + batch - 1) / batch;
        AtomicLong reserved = new AtomicLong();
        shards(senders, (sender, http) -> {
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
                    post(http, uri, receiverName, bodies[k][r], to - from, tally);
                }
            }
        });
    }

    /** What one of {@link #shards}' senders does, with an HTTP client of its own. */
    interface Shard {
        void send(int sender, HttpClient http) throws Exception;
    }

    /**
     * Runs {@code senders} senders, like Prometheus' shards, each on a thread and HTTP/1.1 client
     * of its own, and waits for all of them; the first failure is rethrown.
     */
    static void shards(int senders, Shard shard) throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int sender = s;
            Thread t = new Thread(() -> {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(10)).build();
                try {
                    shard.send(sender, http);
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
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a sender failed", failures.get(0));
        }
    }

    /** Waits for a trigger's moment, then does it; {@link #finish()} waits for it and rethrows its failure. */
    private static final class TriggerThread {
        private final Thread thread;
        private volatile Throwable failure;

        TriggerThread(Trigger trigger, long startNanos, LongAdder acknowledged, long samples) {
            thread = new Thread(() -> {
                try {
                    long due = startNanos + trigger.afterMillis() * 1_000_000;
                    while (System.nanoTime() < due && acknowledged.sum() < trigger.atShare() * samples) {
                        Thread.sleep(5);
                    }
                    trigger.action().fire((System.nanoTime() - startNanos) / 1e9);
                } catch (Throwable e) {
                    failure = e;
                }
            }, "phase-trigger");
            thread.setDaemon(true);
            thread.start();
        }

        void finish() throws Exception {
            thread.join();
            if (failure != null) {
                throw new IllegalStateException("what the phase triggered failed", failure);
            }
        }
    }

    /**
     * Sends one remote write request body of {@code samples} samples to {@code uri} as Prometheus
     * does: 5xx, 429 and connection failures retried with exponential backoff (30 ms to 5 s), any
     * other 4xx an error of the sender's own, reported with what the receiver answered. Each
     * attempt is counted in the tally, and the samples once acknowledged.
     */
    static void post(HttpClient http, URI uri, String receiverName, byte[] body, int samples, Tally tally)
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
            byte[] answer = new byte[0];
            try {
                // the answer's body is empty when all went well; what a refusal says is kept for the message
                HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                code = response.statusCode();
                answer = response.body();
            } catch (java.io.IOException e) {
                code = 599; // connection failure: retried like a 5xx
            }
            tally.latency.recordValue(Math.min(System.nanoTime() - t0, 59_000_000_000L));
            tally.codes.computeIfAbsent(code, c -> new LongAdder()).increment();
            if (code / 100 == 2) {
                tally.requests.increment();
                tally.acknowledged.add(samples);
                return;
            }
            if (code / 100 == 4 && code != 429) {
                throw new IllegalStateException(receiverName + " answered " + code + ": the load generator sent a bad request: "
                        + new String(answer, 0, Math.min(answer.length, 500), java.nio.charset.StandardCharsets.UTF_8).trim());
            }
            tally.retries.increment();
            Thread.sleep(backoff);
            backoff = Math.min(5_000, backoff * 2);
        }
    }
}
