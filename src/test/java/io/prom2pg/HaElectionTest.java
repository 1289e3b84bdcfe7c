package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.EmbeddedPostgresServer;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Prometheus HA pairs: one replica per cluster is stored, and another takes over when it goes silent. */
class HaElectionTest {

    static final long T0 = 1_795_493_700_000L;
    static final Map<String, String> FAST_FAILOVER = Map.of("prom2pg.ha.timeout-ms", "1500");

    @Test
    void should_store_one_copy_of_a_series_sent_by_both_replicas() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            for (int scrape = 0; scrape < 5; scrape++) {
                long t = T0 + scrape * 30_000L;
                // OpenShift's pair: the same series a few milliseconds apart
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("openshift", "prometheus-k8s-0", t + 7, 1)).statusCode());
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("openshift", "prometheus-k8s-1", t, 2)).statusCode());
            }
            assertEquals(5, count(url, schema), "one copy per scrape");
            assertEquals(5, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema
                    + ".metrics WHERE name = 'test_ha' AND value = 1"), "all from the leader");
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series WHERE metric_name = 'test_ha'"
                    + " AND NOT labels ? 'prometheus_replica' AND labels->>'prometheus' = 'openshift'"),
                    "one series, without the replica label");
            assertEquals(5, prom2pg.metric("prom2pg_samples_rejected_total{reason=\"ha_follower\"}"));
        }
    }

    @Test
    void should_answer_503_to_a_follower_ahead_of_its_leader_and_accept_it_once_the_leader_caught_up() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c0", "a", T0, 1)).statusCode());
            HttpResponse<String> ahead = RemoteWrite.post(prom2pg.writeUri(), request("c0", "b", T0 + 15_000, 2));
            assertEquals(503, ahead.statusCode(), ahead.body());
            assertEquals("1", ahead.headers().firstValue("Retry-After").orElse(null));
            assertTrue(ahead.body().contains("leader a has stored up to " + T0 + " ms"), ahead.body());
            assertTrue(ahead.body().startsWith("503 remote-write: HA cluster "), ahead.body());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c0", "a", T0 + 30_000, 1)).statusCode());
            assertEquals(204, postUntilAcknowledged(prom2pg, request("c0", "b", T0 + 15_000, 2)));
            assertEquals(2, count(url, schema), "the leader's two samples, none of the follower's");
            assertTrue(prom2pg.metric("prom2pg_requests_rejected_total{reason=\"ha_follower_ahead\"}") >= 1);
        }
    }

    @Test
    void should_fail_over_to_the_follower_when_the_leader_goes_silent_without_losing_what_the_follower_was_told() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, FAST_FAILOVER).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c1", "a", T0, 1)).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c1", "b", T0 - 5, 2)).statusCode());
            // the leader stops; the follower's newer samples are refused until it takes over, then stored
            for (int scrape = 1; scrape <= 3; scrape++) {
                assertEquals(204, postUntilAcknowledged(prom2pg, request("c1", "b", T0 + scrape * 1000L, 2)));
            }
            assertEquals("b", leader(url, schema, "prometheus=c1"));
            assertEquals(3, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_ha' AND value = 2"),
                    "every follower sample newer than the leader's last one is stored");
            // the old leader coming back is now the follower
            long before = count(url, schema);
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c1", "a", T0 + 2_000, 1)).statusCode());
            assertEquals(before, count(url, schema));
        }
    }

    /** Posts until the answer is not a 503, as Prometheus retries; returns the final status. */
    private static int postUntilAcknowledged(RunningProm2pg prom2pg, WriteRequest request) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (true) {
            int status = RemoteWrite.post(prom2pg.writeUri(), request).statusCode();
            if (status != 503 || System.nanoTime() > deadline) {
                return status;
            }
            Thread.sleep(100);
        }
    }

    @Test
    void should_have_two_instances_on_one_database_agree_on_the_leader() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg one = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30));
             RunningProm2pg two = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            for (int scrape = 0; scrape < 3; scrape++) {
                long t = T0 + scrape * 30_000L;
                // a Service spreads each replica's requests over both instances
                RunningProm2pg forA = scrape % 2 == 0 ? one : two;
                RunningProm2pg forB = scrape % 2 == 0 ? two : one;
                assertEquals(204, RemoteWrite.post(forA.writeUri(), request("c2", "a", t, 1)).statusCode());
                assertEquals(204, postUntilAcknowledged(forB, request("c2", "b", t - 3, 2)));
            }
            assertEquals(3, count(url, schema));
            assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE value = 2"));
        }
    }

    @Test
    void should_store_requests_without_ha_labels_as_they_are() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            WriteRequest plain = WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "test_ha", "job", "x").addSamples(sample(T0, 1))).build();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), plain).statusCode());
            assertEquals(1, count(url, schema));
        }
    }

    @Test
    void should_answer_503_when_the_lease_cannot_be_checked() throws Exception {
        int port = Ports.free();
        EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(Files.createTempDirectory("prom2pg-ha"), port);
        try (RunningProm2pg prom2pg = RunningProm2pg.start(pg.jdbcUrl(), "ha", Map.of()).awaitReady(Duration.ofSeconds(30))) {
            pg.close();
            assertEquals(503, RemoteWrite.post(prom2pg.writeUri(), request("c3", "a", T0, 1)).statusCode());
        } finally {
            pg.close();
        }
    }

    private static WriteRequest request(String cluster, String replica, long t, double value) {
        return WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_ha", "job", "kubelet", "prometheus", cluster, "prometheus_replica", replica)
                        .addSamples(sample(t, value)))
                .build();
    }

    private static long count(String url, String schema) throws Exception {
        return TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_ha'");
    }

    private static String leader(String url, String schema, String cluster) throws Exception {
        try (var c = TestDatabase.connect(url); var st = c.createStatement();
             var rs = st.executeQuery("SELECT leader FROM " + schema + ".ha_leases WHERE cluster = '" + cluster + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
