package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.Database;
import io.prom2pg.store.EmbeddedPostgresServer;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.Await;
import org.junit.jupiter.api.Test;

/** When the embedded postmaster dies under load, prom2pg starts it again and loses nothing it acknowledged. */
class EmbeddedServerSupervisionTest {

    private static final int SERIES = 50;

    @Test
    void should_restart_a_killed_embedded_postgresql_under_load_without_losing_acknowledged_samples() throws Exception {
        Path dataDir = Files.createTempDirectory("prom2pg-supervised").resolve("data");
        Map<String, String> embedded = Map.of("prom2pg.embedded.data-dir", dataDir.toString(),
                "prom2pg.embedded.port", String.valueOf(Ports.free()));
        try (RunningProm2pg prom2pg = RunningProm2pg.start("", "prom2pg", embedded).awaitReady(Duration.ofSeconds(60))) {
            Database database = prom2pg.app().context().getRegistry().lookupByNameAndType("dataSource", Database.class);
            EmbeddedPostgresServer server = database.embedded();
            ConcurrentLinkedQueue<Integer> acknowledged = new ConcurrentLinkedQueue<>();
            AtomicInteger refused = new AtomicInteger();
            AtomicBoolean sending = new AtomicBoolean(true);
            Thread sender = new Thread(() -> {
                for (int round = 0; sending.get(); round++) {
                    try {
                        int status = RemoteWrite.post(prom2pg.writeUri(), request(round)).statusCode();
                        if (status == 204) {
                            acknowledged.add(round);
                        } else {
                            refused.incrementAndGet();
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        refused.incrementAndGet();
                    }
                }
            });
            sender.start();
            try {
                Await.until(() -> acknowledged.size() >= 20, Duration.ofSeconds(90), "writes acknowledged before the kill");
                long killed = server.postmasterPid();
                ProcessHandle.of(killed).orElseThrow().destroyForcibly(); // kill -9 of the postmaster
                Await.until(() -> !prom2pg.isReady(), Duration.ofSeconds(90), "readiness goes down while the server is away");
                // Ready again only once the new server answers: its postmaster writes its pid file
                // before crash recovery ends, and readiness must not say ready in between.
                Await.until(() -> pidFile(dataDir) != killed && prom2pg.isReady(), Duration.ofSeconds(90),
                        "readiness comes back once prom2pg restarted the server");
                try (var c = DriverManager.getConnection(server.jdbcUrl(), "postgres", ""); var st = c.createStatement();
                     var rs = st.executeQuery("SELECT 1")) {
                    assertTrue(rs.next(), "the restarted server answers as soon as prom2pg says ready");
                }
                assertNotEquals(killed, server.postmasterPid(), "a new postmaster");
                int before = acknowledged.size();
                Await.until(() -> acknowledged.size() >= before + 20, Duration.ofSeconds(90), "writes acknowledged after the restart");
            } finally {
                sending.set(false);
                sender.join();
            }
            assertTrue(refused.get() > 0, "some requests met the dead server and were refused, not acknowledged");
            List<Integer> acked = List.copyOf(acknowledged);
            try (var c = database.getConnection(); var st = c.createStatement();
                 var rs = st.executeQuery("SELECT count(*), count(DISTINCT (name, labels, time)) FROM prom2pg.metrics"
                         + " WHERE name = 'test_supervised' AND value = ANY ('{" + String.join(",", acked.stream().map(String::valueOf).toList())
                         + "}'::float8[])")) {
                rs.next();
                assertEquals((long) acked.size() * SERIES, rs.getLong(1), "every acknowledged sample is stored");
                assertEquals(rs.getLong(1), rs.getLong(2), "and only once");
            }
        }
    }

    private static long pidFile(Path dataDir) {
        try {
            return Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
        } catch (Exception e) {
            return 0; // absent or being written
        }
    }

    private static WriteRequest request(int round) {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        for (int s = 0; s < SERIES; s++) {
            request.addTimeseries(series("__name__", "test_supervised", "instance", "i" + s)
                    .addSamples(sample(1_795_493_709_000L + round * 1000L, round)));
        }
        return request.build();
    }
}
