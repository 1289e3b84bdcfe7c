package io.prom2pg.admit;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.airlift.compress.snappy.SnappyDecompressor;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.prom2pg.failure.OverloadedException;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.spi.OnCamelContextStarted;

/**
 * Bounds the work in flight: at most {@code maxRequests} requests and {@code maxBytes} body
 * bytes (compressed plus decompressed) are decoded and written at once. A request past either
 * bound waits up to {@code maxWaitMillis} for room, then is refused ({@link OverloadedException},
 * answered 503 with {@code Retry-After}), before its body is decompressed: a flood costs prom2pg
 * no more memory than its caps allow, and nothing is acknowledged that was not stored.
 */
public class Admission implements OnCamelContextStarted {

    private int maxRequests = 16;
    private int maxBytes = 32 * 1024 * 1024;
    private long maxBodyBytes = 32L * 1024 * 1024;
    private long maxWaitMillis = 2000;
    private Semaphore requests = new Semaphore(maxRequests);
    private Semaphore bytes = new Semaphore(maxBytes);
    private final AtomicLong peakBytesInFlight = new AtomicLong();

    public void setMaxRequests(int maxRequests) {
        this.maxRequests = maxRequests;
        this.requests = new Semaphore(maxRequests);
    }

    public void setMaxBytes(int maxBytes) {
        this.maxBytes = maxBytes;
        this.bytes = new Semaphore(maxBytes);
    }

    /** The decompressed body limit: a body declaring more is refused by the decoder, not counted here. */
    public void setMaxBodyBytes(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    /** How long a request past a bound waits for room before it is refused. */
    public void setMaxWaitMillis(long maxWaitMillis) {
        this.maxWaitMillis = maxWaitMillis;
    }

    /**
     * What an admitted request holds: one request slot and its bytes, given back once by
     * {@link #close} (later calls do nothing), by the answer or earlier by a request that waits.
     */
    public final class Permit implements AutoCloseable {
        private final int size;
        private final AtomicBoolean held = new AtomicBoolean(true);

        private Permit(int size) {
            this.size = size;
        }

        @Override
        public void close() {
            if (held.getAndSet(false)) {
                bytes.release(size);
                requests.release();
            }
        }
    }

    /** Admits the exchange's request or throws; the permit must be {@link #release}d. */
    public Permit admit(Exchange exchange) throws InterruptedException {
        byte[] body = exchange.getMessage().getBody(byte[].class);
        // a single request larger than the whole budget may still run, alone
        int size = (int) Math.min(weight(body, maxBodyBytes), maxBytes);
        long deadline = System.nanoTime() + maxWaitMillis * 1_000_000;
        if (!requests.tryAcquire(maxWaitMillis, TimeUnit.MILLISECONDS)) {
            throw new OverloadedException("overloaded: " + maxRequests
                    + " requests in flight (prom2pg.limits.max-requests-in-flight)");
        }
        if (!bytes.tryAcquire(size, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            requests.release();
            throw new OverloadedException("overloaded: " + bytesInFlight() + " body bytes in flight, this request needs "
                    + size + " more (prom2pg.limits.max-bytes-in-flight " + maxBytes + ")");
        }
        peakBytesInFlight.accumulateAndGet(bytesInFlight(), Math::max);
        return new Permit(size);
    }

    /** Gives back what {@link #admit} took, if anything (null: the request was not admitted); safe to call twice. */
    public void release(Permit permit) {
        if (permit != null) {
            permit.close();
        }
    }

    /** The memory a request will take: its body plus the decompressed size its snappy header declares. */
    static long weight(byte[] body, long maxBodyBytes) {
        if (body == null) {
            return 0;
        }
        long declared = 0;
        try {
            declared = Math.max(0, SnappyDecompressor.getUncompressedLength(body, 0));
        } catch (RuntimeException e) {
            // not snappy: the decoder will reject it; count the body only
        }
        return body.length + (declared > maxBodyBytes ? 0 : declared);
    }

    @Override
    public void onContextStarted(CamelContext context) {
        MeterRegistry registry = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (registry != null) {
            Gauge.builder("prom2pg.requests.in.flight", this, Admission::requestsInFlight)
                    .description("Requests being decoded and written").register(registry);
            Gauge.builder("prom2pg.bytes.in.flight", this, Admission::bytesInFlight)
                    .description("Body bytes (compressed and decompressed) of the requests in flight").baseUnit("bytes")
                    .register(registry);
        }
    }

    public long bytesInFlight() {
        return maxBytes - bytes.availablePermits();
    }

    public long peakBytesInFlight() {
        return peakBytesInFlight.get();
    }

    public int requestsInFlight() {
        return maxRequests - requests.availablePermits();
    }
}
