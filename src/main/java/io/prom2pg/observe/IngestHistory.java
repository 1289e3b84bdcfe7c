package io.prom2pg.observe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;

/**
 * The last hour of ingest, kept in memory so that the console shows it with no Prometheus
 * scraping prom2pg: every {@code prom2pg.console.history-interval-ms} the {@code console-history}
 * route takes a reading of prom2pg's own counters, and {@link #rates()} turns consecutive readings
 * into per-second rates and the write requests' mean and 99th-percentile latency.
 * 361 readings of a few dozen numbers each: ~100 KB at the default 10 s.
 */
public class IngestHistory {

    /** The write routes whose requests are timed into the latency (prom2pg_request_duration_seconds{handler}). */
    private static final List<String> WRITE_HANDLERS = List.of("remote-write", "remote-write-legacy-path");

    /** One reading of the cumulative counters. */
    record Reading(long time, double received, double written, Map<String, Double> rejected, long requests,
                   double requestSeconds, double[] bucketBounds, double[] bucketCounts) {
    }

    /** The rates between consecutive readings, oldest first; a latency is null where no request completed. */
    public record Rates(double intervalSeconds, List<Long> time, List<Double> received, List<Double> written,
                        Map<String, List<Double>> rejected, List<Double> requests,
                        List<Double> latencyMeanSeconds, List<Double> latencyP99Seconds) {
    }

    private volatile MeterRegistry registry;
    private IngestMetrics ingestMetrics;
    private long intervalMillis = 10_000;
    private Reading[] ring = new Reading[361];
    private int next;
    private int size;

    /** Where the counters are: the registry prom2pg's own counters were bound to. */
    public void setIngestMetrics(IngestMetrics ingestMetrics) {
        this.ingestMetrics = ingestMetrics;
    }

    public void setMeterRegistry(MeterRegistry registry) {
        this.registry = registry;
    }

    /** How often a reading is taken; the ring holds an hour of them. */
    public synchronized void setIntervalMillis(long intervalMillis) {
        if (intervalMillis < 100 || intervalMillis > 1_800_000) {
            throw new IllegalArgumentException("prom2pg.console.history-interval-ms must be from 100 to 1800000 (30 min), not "
                    + intervalMillis);
        }
        this.intervalMillis = intervalMillis;
        ring = new Reading[(int) (3_600_000 / intervalMillis) + 1];
        next = 0;
        size = 0;
    }

    /** Takes a reading (the console-history route). */
    public void record() {
        recordAt(System.currentTimeMillis());
    }

    synchronized void recordAt(long now) {
        MeterRegistry r = registry != null ? registry : ingestMetrics.meterRegistry();
        Map<String, Double> rejected = new TreeMap<>();
        for (Counter c : r.find("prom2pg.samples.rejected").counters()) {
            rejected.merge(String.valueOf(c.getId().getTag("reason")), c.count(), Double::sum);
        }
        long requests = 0;
        double seconds = 0;
        TreeMap<Double, Double> buckets = new TreeMap<>();
        for (Timer t : r.find("prom2pg.request.duration").timers()) {
            if (!WRITE_HANDLERS.contains(t.getId().getTag("handler"))) {
                continue;
            }
            requests += t.count();
            seconds += t.totalTime(java.util.concurrent.TimeUnit.SECONDS);
            for (CountAtBucket b : t.takeSnapshot().histogramCounts()) {
                buckets.merge(b.bucket(java.util.concurrent.TimeUnit.SECONDS), b.count(), Double::sum);
            }
        }
        double[] bounds = new double[buckets.size()];
        double[] counts = new double[buckets.size()];
        int i = 0;
        for (Map.Entry<Double, Double> b : buckets.entrySet()) {
            bounds[i] = b.getKey();
            counts[i++] = b.getValue();
        }
        ring[next] = new Reading(now, sum(r, "prom2pg.samples.received"), sum(r, "prom2pg.samples.written"), rejected,
                requests, seconds, bounds, counts);
        next = (next + 1) % ring.length;
        size = Math.min(size + 1, ring.length);
    }

    private static double sum(MeterRegistry r, String counter) {
        return r.find(counter).counters().stream().mapToDouble(Counter::count).sum();
    }

    /** The readings held, oldest first. */
    synchronized List<Reading> readings() {
        List<Reading> readings = new ArrayList<>(size);
        for (int k = 0; k < size; k++) {
            readings.add(ring[(next - size + k + ring.length) % ring.length]);
        }
        return readings;
    }

    /** The rates of the last hour: one entry per interval between two readings. */
    public synchronized Rates rates() {
        List<Reading> readings = readings();
        List<Long> time = new ArrayList<>();
        List<Double> received = new ArrayList<>();
        List<Double> written = new ArrayList<>();
        Map<String, List<Double>> rejected = new LinkedHashMap<>();
        List<Double> requests = new ArrayList<>();
        List<Double> mean = new ArrayList<>();
        List<Double> p99 = new ArrayList<>();
        if (!readings.isEmpty()) {
            readings.get(readings.size() - 1).rejected().keySet().forEach(reason -> rejected.put(reason, new ArrayList<>()));
        }
        for (int k = 1; k < readings.size(); k++) {
            Reading a = readings.get(k - 1);
            Reading b = readings.get(k);
            double s = Math.max(0.001, (b.time() - a.time()) / 1000.0);
            time.add(b.time());
            received.add(rate(b.received() - a.received(), s));
            written.add(rate(b.written() - a.written(), s));
            rejected.forEach((reason, list) -> list.add(rate(b.rejected().getOrDefault(reason, 0.0)
                    - a.rejected().getOrDefault(reason, 0.0), s)));
            long n = b.requests() - a.requests();
            requests.add(rate(n, s));
            mean.add(n > 0 ? (b.requestSeconds() - a.requestSeconds()) / n : null);
            p99.add(n > 0 ? quantile(0.99, a, b) : null);
        }
        return new Rates(intervalMillis / 1000.0, time, received, written, rejected, requests, mean, p99);
    }

    /** A counter that went down was reset (a new registry): no rate rather than a negative one. */
    private static double rate(double delta, double seconds) {
        return Math.max(0, delta) / seconds;
    }

    /**
     * The q-quantile of the requests between two readings, from the growth of each latency bucket,
     * interpolated within the bucket as Prometheus' histogram_quantile does.
     */
    static Double quantile(double q, Reading a, Reading b) {
        double[] bounds = b.bucketBounds();
        if (bounds.length == 0) {
            return null;
        }
        double[] counts = new double[bounds.length];
        for (int k = 0; k < bounds.length; k++) {
            counts[k] = b.bucketCounts()[k] - countAt(a, bounds[k]);
        }
        double total = b.requests() - a.requests();
        double rank = q * total;
        double lower = 0;
        double below = 0;
        for (int k = 0; k < bounds.length; k++) {
            if (counts[k] >= rank) {
                double inBucket = counts[k] - below;
                return inBucket <= 0 ? bounds[k] : lower + (bounds[k] - lower) * (rank - below) / inBucket;
            }
            lower = bounds[k];
            below = counts[k];
        }
        // beyond the largest bucket: its bound is the most that can be said
        return bounds[bounds.length - 1];
    }

    private static double countAt(Reading r, double bound) {
        for (int k = 0; k < r.bucketBounds().length; k++) {
            if (r.bucketBounds()[k] == bound) {
                return r.bucketCounts()[k];
            }
        }
        return 0;
    }
}
