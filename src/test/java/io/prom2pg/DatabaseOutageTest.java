package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteRead.LabelMatcher;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.EmbeddedPostgresServer;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** A database that goes away, or is not there yet, costs retries (503), never data. */
class DatabaseOutageTest {

    static final long T0 = 1_795_493_709_000L;

    @Test
    void should_answer_503_while_the_database_is_down_and_recover_without_loss() throws Exception {
        Path dataDir = Files.createTempDirectory("prom2pg-outage");
        int port = Ports.free();
        EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(dataDir, port);
        String url = pg.jdbcUrl();
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, "outage", Map.of()).awaitReady(Duration.ofSeconds(30))) {
            WriteRequest before = request("test_outage_before");
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), before).statusCode());

            pg.close();
            WriteRequest during = request("test_outage_during");
            HttpResponse<String> refused = RemoteWrite.post(prom2pg.writeUri(), during);
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("5", refused.headers().firstValue("Retry-After").orElse(null));
            // what Prometheus logs: the status, the route and PostgreSQL's reason, no Camel wrapper
            assertTrue(refused.body().startsWith("503 remote-write: storage unavailable, retry later: "), refused.body());
            assertTrue(refused.body().contains("(SQLSTATE "), "PostgreSQL's own reason: " + refused.body());
            assertEquals(1, refused.body().strip().lines().count(), refused.body());
            awaitReadiness(prom2pg, false);
            // remote read too: 503, so Prometheus reports the failure instead of an empty answer
            ReadRequest read = ReadRequest.newBuilder()
                    .addQueries(Query.newBuilder().setStartTimestampMs(T0).setEndTimestampMs(T0 + 60_000)
                            .addMatchers(LabelMatcher.newBuilder()
                                    .setType(LabelMatcher.Type.EQ).setName("__name__")
                                    .setValue("test_outage_before")))
                    .build();
            HttpResponse<String> readRefused = RemoteWrite.postBody(prom2pg.uri("/api/v1/read"),
                    SnappyDataFormat.compress(read.toByteArray()), "application/x-protobuf");
            assertEquals(503, readRefused.statusCode(), readRefused.body());

            pg = EmbeddedPostgresServer.start(dataDir, port);
            awaitReadiness(prom2pg, true);
            // the sender retries until it gets a 2xx, as Prometheus does
            int status = 0;
            for (int attempt = 0; attempt < 50 && status != 204; attempt++) {
                status = RemoteWrite.post(prom2pg.writeUri(), during).statusCode();
                if (status != 204) {
                    Thread.sleep(200);
                }
            }
            assertEquals(204, status);
            assertEquals(10, TestDatabase.queryLong(url, "SELECT count(*) FROM outage.metrics WHERE name = 'test_outage_before'"));
            assertEquals(10, TestDatabase.queryLong(url, "SELECT count(*) FROM outage.metrics WHERE name = 'test_outage_during'"));
            assertTrue(prom2pg.metric("prom2pg_samples_rejected_total{reason=\"storage_unavailable\"}") >= 10);
        } finally {
            pg.close();
        }
    }

    @Test
    void should_start_before_its_database_and_wait_for_it_with_readiness_down() throws Exception {
        Path dataDir = Files.createTempDirectory("prom2pg-late-db");
        int port = Ports.free();
        String url = "jdbc:postgresql://localhost:" + port + "/postgres";
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, "late", Map.of())) {
            assertFalse(prom2pg.isReady());
            HttpResponse<String> refused = RemoteWrite.post(prom2pg.writeUri(), request("test_late"));
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("database not ready"), refused.body());

            try (EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(dataDir, port)) {
                prom2pg.awaitReady(Duration.ofSeconds(40));
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("test_late")).statusCode());
                assertEquals(10, TestDatabase.queryLong(url, "SELECT count(*) FROM late.metrics WHERE name = 'test_late'"));
            }
        }
    }

    @Test
    void should_answer_503_within_the_lock_timeout_while_another_session_locks_the_samples() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("locked");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.db.lock-timeout-ms", "1000"))
                .awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("test_locked_before")).statusCode());
            WriteRequest during = request("test_locked_during");
            try (Connection locker = TestDatabase.connect(url); Statement st = locker.createStatement()) {
                locker.setAutoCommit(false);
                st.execute("LOCK TABLE " + schema + ".samples, " + schema + ".series IN ACCESS EXCLUSIVE MODE");
                long started = System.nanoTime();
                HttpResponse<String> refused = RemoteWrite.post(prom2pg.writeUri(), during);
                long tookMillis = (System.nanoTime() - started) / 1_000_000;
                assertEquals(503, refused.statusCode(), refused.body());
                assertTrue(refused.body().startsWith("503 remote-write: storage unavailable, retry later: "), refused.body());
                assertTrue(refused.body().contains(": ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)"), refused.body());
                assertFalse(refused.body().contains("Multicast") || refused.body().contains("Exchange["), refused.body());
                assertTrue(tookMillis < 10_000, "answered after " + tookMillis + " ms");
                locker.rollback();
            }
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), during).statusCode());
            assertEquals(10, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_locked_during'"));
        }
    }

    @Test
    void should_create_a_missing_days_partition_while_a_long_reader_holds_the_samples() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("attach");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.db.lock-timeout-ms", "1000"))
                .awaitReady(Duration.ofSeconds(30))) {
            long tenDaysAgo = System.currentTimeMillis() - 10 * 86_400_000L;
            WriteRequest old = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "test_attach").addSamples(sample(tenDaysAgo, 1))).build();
            try (Connection reader = TestDatabase.connect(url); Statement st = reader.createStatement()) {
                reader.setAutoCommit(false);
                st.executeQuery("SELECT count(*) FROM " + schema + ".samples").close(); // a report in progress
                HttpResponse<String> answer = RemoteWrite.post(prom2pg.writeUri(), old);
                assertEquals(204, answer.statusCode(), answer.body());
                reader.rollback();
            }
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_attach'"));
        }
    }

    private static WriteRequest request(String name) {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        for (int i = 0; i < 5; i++) {
            request.addTimeseries(series("__name__", name, "i", String.valueOf(i))
                    .addSamples(sample(T0, i)).addSamples(sample(T0 + 15_000, i)));
        }
        return request.build();
    }

    private static void awaitReadiness(RunningProm2pg prom2pg, boolean ready) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (prom2pg.isReady() != ready) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("readiness did not become " + ready);
            }
            Thread.sleep(100);
        }
    }
}
