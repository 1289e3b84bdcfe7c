package io.prom2pg.observe;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prom2pg.store.WriteListener;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.spi.OnCamelContextStarted;

/**
 * prom2pg's own counters, published at {@code /observe/metrics} through the Prometheus registry
 * that camel-micrometer-prometheus binds as {@code metricsRegistry}.
 */
public class IngestMetrics implements OnCamelContextStarted, WriteListener {

    public static final String REASON_INVALID = "invalid";
    public static final String REASON_DUPLICATE = "duplicate";
    public static final String REASON_STORAGE_UNAVAILABLE = "storage_unavailable";
    public static final String REASON_CARDINALITY = "cardinality";
    public static final String REASON_HA_FOLLOWER = "ha_follower";
    public static final String REASON_FILTERED = "filtered";

    private static final Duration[] LATENCY_BUCKETS = {
        Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)
    };

    private volatile MeterRegistry registry;
    private Counter received;
    private Counter written;
    private Counter metadataWritten;
    private Counter histogramsWritten;
    private Counter exemplarsWritten;
    private Counter cacheHits;
    private Counter cacheMisses;
    private Counter seriesResolved;
    private Timer seriesCreation;
    private final ConcurrentMap<String, Counter> rejected = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> requestsRejected = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Timer> requestTimers = new ConcurrentHashMap<>();

    public void setMeterRegistry(MeterRegistry registry) {
        bind(registry);
    }

    @Override
    public void onContextStarted(CamelContext context) {
        if (registry == null) {
            MeterRegistry found = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
            bind(found != null ? found : new SimpleMeterRegistry());
        }
    }

    private synchronized void bind(MeterRegistry r) {
        received = Counter.builder("prom2pg.samples.received")
                .description("Samples decoded from remote write requests").register(r);
        written = Counter.builder("prom2pg.samples.written")
                .description("Samples committed to PostgreSQL").register(r);
        metadataWritten = Counter.builder("prom2pg.metadata.written")
                .description("Metric metadata entries stored").register(r);
        histogramsWritten = Counter.builder("prom2pg.histograms.written")
                .description("Native histogram samples stored").register(r);
        exemplarsWritten = Counter.builder("prom2pg.exemplars.written")
                .description("Exemplars stored").register(r);
        cacheHits = Counter.builder("prom2pg.series.cache.hits")
                .description("Series ids found in the in-memory cache").register(r);
        cacheMisses = Counter.builder("prom2pg.series.cache.misses")
                .description("Series ids looked up in or created in PostgreSQL").register(r);
        seriesResolved = Counter.builder("prom2pg.series.resolved")
                .description("Series looked up in or created in PostgreSQL (cache misses, once per request)").register(r);
        seriesCreation = Timer.builder("prom2pg.series.create.duration")
                .description("Time to create (or find) the series a request's cache misses name, per request")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(r);
        rejected.clear();
        requestsRejected.clear();
        requestTimers.clear();
        registry = r;
        for (String reason : new String[] {REASON_INVALID, REASON_DUPLICATE, REASON_STORAGE_UNAVAILABLE, REASON_CARDINALITY,
            REASON_HA_FOLLOWER, REASON_FILTERED}) {
            rejectedCounter(reason);
        }
        // listed at 0 from the start, so that alerts on their rate have a series to work on
        for (String reason : new String[] {"overloaded", "ha_follower_ahead"}) {
            requestsRejected.computeIfAbsent(reason, k -> Counter.builder("prom2pg.requests.rejected")
                    .description("Requests refused before decoding, by reason").tag("reason", k).register(r));
        }
    }

    /** The registry prom2pg's counters are in (the status page's history reads them there). */
    public MeterRegistry meterRegistry() {
        return registry();
    }

    private MeterRegistry registry() {
        if (registry == null) {
            bind(new SimpleMeterRegistry());
        }
        return registry;
    }

    public void received(long samples) {
        registry();
        received.increment(samples);
    }

    /**
     * One insert statement committed: {@code inserted} rows are new, the rest of {@code sent}
     * were already stored (a retried request) and are counted as duplicates.
     */
    @Override
    public void written(int inserted, int sent) {
        registry();
        written.increment(inserted);
        if (sent > inserted) {
            rejectedCounter(REASON_DUPLICATE).increment(sent - inserted);
        }
    }

    /** Histograms and exemplars of a request stored. */
    @Override
    public void extrasWritten(int histograms, int exemplars) {
        registry();
        histogramsWritten.increment(histograms);
        exemplarsWritten.increment(exemplars);
    }

    @Override
    public void metadataWritten(int entries) {
        registry();
        metadataWritten.increment(entries);
    }

    /** Samples not stored; {@code samples} is null when the request was not decoded far enough to count them. */
    public void rejected(String reason, Number samples) {
        rejectedCounter(reason).increment(samples == null ? 0 : samples.doubleValue());
    }

    /** A request from an HA replica that is not its cluster's leader: answered 2xx, not stored. */
    public void followerDropped(Number samples) {
        rejected(REASON_HA_FOLLOWER, samples);
    }

    /** A whole request refused before it was decoded (its samples are not known). */
    public void requestRejected(String reason) {
        requestsRejected.computeIfAbsent(reason, r -> Counter.builder("prom2pg.requests.rejected")
                .description("Requests refused before decoding, by reason").tag("reason", r).register(registry()))
                .increment();
    }

    public void seriesCache(int hits, int misses) {
        registry();
        cacheHits.increment(hits);
        cacheMisses.increment(misses);
    }

    public void seriesCreated(int series, long nanos) {
        registry();
        seriesResolved.increment(series);
        seriesCreation.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /** Records the time since the exchange was created, by HTTP handler and status code. */
    public void requestCompleted(Exchange exchange) {
        Object code = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE);
        String handler = exchange.getFromRouteId();
        String key = handler + "|" + code;
        Timer timer = requestTimers.computeIfAbsent(key, k -> Timer.builder("prom2pg.request.duration")
                .description("Time from a request's arrival to its answer")
                .tag("handler", String.valueOf(handler))
                .tag("code", String.valueOf(code == null ? 200 : code))
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry()));
        timer.record(exchange.getClock().elapsed(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private Counter rejectedCounter(String reason) {
        return rejected.computeIfAbsent(reason, r -> Counter.builder("prom2pg.samples.rejected")
                .description("Samples not stored, by reason")
                .tag("reason", r)
                .register(registry()));
    }
}
