package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Several prom2pg instances on one database create each series once and store each sample once. */
class SeveralInstancesTest {

    @Test
    void should_create_each_series_once_when_two_instances_race_for_it() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("several");
        int seriesCount = 3000;
        try (RunningProm2pg a = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30));
             RunningProm2pg b = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            ExecutorService senders = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int sender = 0; sender < 8; sender++) {
                    RunningProm2pg target = sender % 2 == 0 ? a : b;
                    // every sender sends all series; senders of one round share a timestamp
                    long timestamp = 1_795_493_700_000L + (sender / 2) * 15_000L;
                    boolean reversed = sender % 4 >= 2;
                    results.add(senders.submit(() -> RemoteWrite.post(target.writeUri(),
                            request(seriesCount, timestamp, reversed)).statusCode()));
                }
                for (Future<Integer> result : results) {
                    assertEquals(204, result.get());
                }
            } finally {
                senders.shutdownNow();
            }
            assertEquals(seriesCount, TestDatabase.queryLong(url,
                    "SELECT count(*) FROM " + schema + ".series WHERE metric_name = 'test_race'"));
            assertEquals(seriesCount * 4L, TestDatabase.queryLong(url,
                    "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_race'"));
        }
    }

    private static WriteRequest request(int seriesCount, long timestamp, boolean reversed) {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        for (int n = 0; n < seriesCount; n++) {
            int i = reversed ? seriesCount - 1 - n : n;
            request.addTimeseries(series("__name__", "test_race", "pod", "pod-" + i, "namespace", "ns-" + (i % 7))
                    .addSamples(sample(timestamp, i)));
        }
        return request.build();
    }
}
