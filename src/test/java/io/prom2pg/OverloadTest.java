package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import io.prom2pg.admit.Admission;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** A flood far past capacity is refused with 503 + Retry-After, within the memory caps, and loses nothing acknowledged. */
class OverloadTest {

    static final int SENDERS = 32;
    static final int REQUESTS_PER_SENDER = 6;
    static final int SERIES_PER_REQUEST = 2000;

    @Test
    void should_refuse_a_flood_within_its_caps_and_lose_nothing_acknowledged() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("overload");
        long maxBytes = 1_500_000;
        Map<String, String> limits = Map.of(
                "prom2pg.limits.max-requests-in-flight", "3",
                "prom2pg.limits.max-bytes-in-flight", String.valueOf(maxBytes),
                "prom2pg.limits.retry-after-seconds", "2",
                "prom2pg.limits.max-wait-ms", "50",
                "prom2pg.db.pool-size", "2");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, limits).awaitReady(Duration.ofSeconds(30))) {
            Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
            List<Integer> refused = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicInteger refusedAsOverloaded = new AtomicInteger();
            AtomicInteger otherStatus = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int s = 0; s < SENDERS; s++) {
                    int sender = s;
                    done.add(pool.submit(() -> {
                        for (int r = 0; r < REQUESTS_PER_SENDER; r++) {
                            int id = sender * REQUESTS_PER_SENDER + r;
                            HttpResponse<String> response = RemoteWrite.post(prom2pg.writeUri(), request(id));
                            if (response.statusCode() == 204) {
                                acknowledged.add(id);
                            } else if (response.statusCode() == 503
                                    && "2".equals(response.headers().firstValue("Retry-After").orElse(null))) {
                                refused.add(id);
                                if (response.body().startsWith("503 remote-write: overloaded: ")) {
                                    refusedAsOverloaded.incrementAndGet();
                                }
                            } else {
                                otherStatus.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            Admission admission = prom2pg.app().context().getRegistry().lookupByNameAndType("admission", Admission.class);
            assertEquals(0, otherStatus.get(), "every answer is a 204 or a 503 with Retry-After");
            assertTrue(refused.size() > 0, "the flood was refused in part");
            assertTrue(acknowledged.size() > 0, "the flood was accepted in part");
            assertTrue(admission.peakBytesInFlight() <= maxBytes, "peak in flight " + admission.peakBytesInFlight());
            assertEquals(0, admission.bytesInFlight(), "everything admitted was released");
            assertEquals(0, admission.requestsInFlight());
            // everything acknowledged is stored
            assertEquals((long) acknowledged.size() * SERIES_PER_REQUEST, TestDatabase.queryLong(url,
                    "SELECT count(*) FROM " + schema + ".samples"));
            // and the refused requests go in when retried, as Prometheus retries them
            for (int id : refused) {
                int status = 0;
                for (int attempt = 0; attempt < 20 && status != 204; attempt++) {
                    status = RemoteWrite.post(prom2pg.writeUri(), request(id)).statusCode();
                }
                assertEquals(204, status);
            }
            assertEquals((long) SENDERS * REQUESTS_PER_SENDER * SERIES_PER_REQUEST, TestDatabase.queryLong(url,
                    "SELECT count(*) FROM " + schema + ".samples"));
            assertTrue(refusedAsOverloaded.get() > 0, "refused for overload, not only for a busy pool");
            assertEquals(refusedAsOverloaded.get(), prom2pg.metric("prom2pg_requests_rejected_total{reason=\"overloaded\"}"));
        }
    }

    /** Request id: 2000 series of one metric, one sample each at a time of its own. */
    private static WriteRequest request(int id) {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        for (int i = 0; i < SERIES_PER_REQUEST; i++) {
            request.addTimeseries(series("__name__", "test_flood", "pod", "pod-" + i, "namespace", "ns-" + (i % 10),
                    "padding", "p".repeat(40))
                    .addSamples(sample(1_795_493_700_000L + id * 1000L, id)));
        }
        return request.build();
    }
}
