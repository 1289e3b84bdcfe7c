package io.prom2pg.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/** The status page's last hour: rates and latency quantiles from consecutive readings of the counters. */
class IngestHistoryTest {

    @Test
    void should_turn_readings_into_rates_and_a_quantile_within_its_bucket_and_keep_one_hour() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter written = Counter.builder("prom2pg.samples.written").register(registry);
        Counter duplicate = Counter.builder("prom2pg.samples.rejected").tag("reason", "duplicate").register(registry);
        Timer write = Timer.builder("prom2pg.request.duration").tag("handler", "remote-write").tag("code", "204")
                .serviceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofSeconds(1)).register(registry);
        Timer read = Timer.builder("prom2pg.request.duration").tag("handler", "remote-read").tag("code", "200")
                .serviceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofSeconds(1)).register(registry);
        IngestHistory history = new IngestHistory();
        history.setMeterRegistry(registry);
        history.setIntervalMillis(10_000);
        history.recordAt(0);
        written.increment(1000);
        duplicate.increment(50);
        for (int i = 0; i < 98; i++) {
            write.record(5, TimeUnit.MILLISECONDS);
        }
        write.record(50, TimeUnit.MILLISECONDS);
        write.record(500, TimeUnit.MILLISECONDS);
        read.record(900, TimeUnit.MILLISECONDS); // not a write: not in the latency
        history.recordAt(10_000);
        history.recordAt(20_000);

        IngestHistory.Rates r = history.rates();
        assertEquals(10.0, r.intervalSeconds());
        assertEquals(java.util.List.of(10_000L, 20_000L), r.time());
        assertEquals(100.0, r.written().get(0), 1e-9);
        assertEquals(0.0, r.written().get(1), 1e-9);
        assertEquals(5.0, r.rejected().get("duplicate").get(0), 1e-9);
        assertEquals(10.0, r.requests().get(0), 1e-9);
        assertEquals((98 * 0.005 + 0.05 + 0.5) / 100, r.latencyMeanSeconds().get(0), 1e-9);
        // rank 99 of 100: the 99th request is the one in (10 ms, 100 ms], at its bucket's top
        assertEquals(0.1, r.latencyP99Seconds().get(0), 1e-9);
        assertNull(r.latencyP99Seconds().get(1), "no request in the second interval");

        // 90 requests at 5 ms, 10 at 50 ms: the 95th is half-way into (10 ms, 100 ms]
        for (int i = 0; i < 90; i++) {
            write.record(5, TimeUnit.MILLISECONDS);
        }
        for (int i = 0; i < 10; i++) {
            write.record(50, TimeUnit.MILLISECONDS);
        }
        history.recordAt(30_000);
        IngestHistory.Rates third = history.rates();
        assertEquals(0.055, IngestHistory.quantile(0.95, reading(history, 2), reading(history, 3)), 1e-9);
        assertEquals(0.01 + 0.09 * (99 - 90) / 10.0, third.latencyP99Seconds().get(2), 1e-9);

        for (int i = 4; i < 400; i++) {
            history.recordAt(i * 10_000L);
        }
        assertEquals(360, history.rates().time().size(), "an hour of 10 s intervals");
    }

    private static IngestHistory.Reading reading(IngestHistory history, int index) {
        return history.readings().get(index);
    }
}
