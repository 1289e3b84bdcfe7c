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
import io.prom2pg.support.Await;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Prometheus HA pairs: one replica per cluster is stored, and another takes over when it goes silent. */
class HaElectionTest {

    static final long T0 = 1_795_493_700_000L;
    static final Map<String, String> FAST_FAILOVER = Map.of("prom2pg.ha.timeout-ms", "1500");
    static final Map<String, String> SHORT_WAIT = Map.of("prom2pg.ha.follower-wait-ms", "300");

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
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, SHORT_WAIT).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c0", "a", T0, 1)).statusCode());
            HttpResponse<String> ahead = RemoteWrite.post(prom2pg.writeUri(), request("c0", "b", T0 + 15_000, 2));
            assertEquals(503, ahead.statusCode(), ahead.body());
            assertEquals("1", ahead.headers().firstValue("Retry-After").orElse(null));
            assertTrue(ahead.body().contains("replica b sent 1 sample(s) its leader a has not stored yet (waited 300 ms)"), ahead.body());
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

    @Test
    void should_not_take_a_leaders_later_batch_as_covering_a_series_it_has_not_stored() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        Map<String, String> props = Map.of("prom2pg.ha.timeout-ms", "1500", "prom2pg.ha.follower-wait-ms", "300");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, props).awaitReady(Duration.ofSeconds(30))) {
            // scrape 1 of both series, from both replicas
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c4", "a", T0, 1, "s1", "s2")).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c4", "b", T0 - 3, 2, "s1", "s2")).statusCode());
            // scrape 2: the leader's first batch (s1) is stored, then it dies before its second (s2)
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c4", "a", T0 + 5_000, 1, "s1")).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c4", "b", T0 + 4_997, 2, "s1")).statusCode(),
                    "s1's copy is stored: covered");
            HttpResponse<String> s2 = RemoteWrite.post(prom2pg.writeUri(), batch("c4", "b", T0 + 4_997, 2, "s2"));
            assertEquals(503, s2.statusCode(), "not covered by s1's later sample: " + s2.body());
            // retried, as Prometheus does, until the lease moves to b and its sample is stored
            assertEquals(204, postUntilAcknowledged(prom2pg, batch("c4", "b", T0 + 4_997, 2, "s2")));
            assertEquals("b", leader(url, schema, "prometheus=c4"));
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema
                    + ".metrics WHERE name = 'test_ha' AND labels->>'s' = 's2' AND time > 'epoch'::timestamptz + interval '"
                    + T0 + " milliseconds'"), "the follower's s2 of scrape 2 is stored");
            assertEquals(3, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE value = 1"));
        }
    }

    @Test
    void should_take_the_leaders_sample_of_the_same_scrape_as_covering_whichever_replica_scraped_first() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, SHORT_WAIT).awaitReady(Duration.ofSeconds(30))) {
            // 1-minute scrapes; the leader scrapes 20 s before the follower in each interval
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c8", "a", T0, 1, "s1")).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c8", "a", T0 + 60_000, 1, "s1")).statusCode());
            long started = System.nanoTime();
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c8", "b", T0 + 80_000, 2, "s1")).statusCode(),
                    "the leader's sample 20 s earlier is the same scrape (within half the 60 s interval)");
            assertTrue((System.nanoTime() - started) / 1_000_000 < 300, "answered without waiting");
            HttpResponse<String> next = RemoteWrite.post(prom2pg.writeUri(), batch("c8", "b", T0 + 100_000, 2, "s1"));
            assertEquals(503, next.statusCode(), "40 s after the leader's newest: the next scrape, not stored yet: " + next.body());
            assertEquals(2, count(url, schema));
        }
    }

    @Test
    void should_store_a_followers_series_its_leader_went_past_without() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        Map<String, String> props = Map.of("prom2pg.ha.timeout-ms", "1500", "prom2pg.ha.follower-wait-ms", "300");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, props).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c5", "a", T0 + 10_000, 1, "s1")).statusCode());
            // s3: a target only the follower reaches, 10 s behind the leader's progress (> the 1.5 s timeout)
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c5", "b", T0, 2, "s1", "s3")).statusCode());
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE labels->>'s' = 's3'"));
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE labels->>'s' = 's1'"),
                    "s1 only from the leader");
        }
    }

    @Test
    void should_acknowledge_followers_at_once_and_move_the_lease_within_the_timeout_in_immediate_mode() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        Map<String, String> props = Map.of("prom2pg.ha.timeout-ms", "2000", "prom2pg.ha.follower-ack", "immediate");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, props).awaitReady(Duration.ofSeconds(30))) {
            long last = 0;
            for (int i = 0; i < 10; i++) { // the leader writes for 2.5 s, past one lease renewal
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c6", "a", T0 + i * 250L, 1, "s1")).statusCode());
                last = System.nanoTime();
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c6", "b", T0 + i * 250L + 100, 2, "s1")).statusCode());
                Thread.sleep(250);
            }
            int i = 10;
            while (!"b".equals(leader(url, schema, "prometheus=c6"))) {
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), batch("c6", "b", T0 + i++ * 250L, 2, "s1")).statusCode());
                Thread.sleep(50);
            }
            long movedMillis = (System.nanoTime() - last) / 1_000_000;
            assertTrue(movedMillis >= 1_800 - 100 && movedMillis <= 2_000 + 400,
                    "the lease moved " + movedMillis + " ms after the leader's last write (timeout 2000, renewed every 200)");
            assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".metrics WHERE value = 2 AND time < "
                    + "'epoch'::timestamptz + interval '" + (T0 + 2_500) + " milliseconds'"), "no follower copy while a led");
        }
    }

    @Test
    void should_keep_replica_labels_and_store_both_when_election_is_off() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.ha.enabled", "false"))
                .awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c7", "a", T0, 1)).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c7", "b", T0, 2)).statusCode());
            assertEquals(2, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series WHERE labels ? 'prometheus_replica'"));
            assertEquals(2, count(url, schema));
        }
    }

    @Test
    void should_pair_a_plain_prometheus_cluster_label_with_its_replica_label() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            for (String replica : new String[] {"replica-a", "replica-b"}) {
                WriteRequest r = WriteRequest.newBuilder().addTimeseries(series("__name__", "test_ha", "cluster", "prod-eu-1",
                        "__replica__", replica).addSamples(sample(T0, replica.endsWith("a") ? 1 : 2))).build();
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), r).statusCode());
            }
            assertEquals(1, count(url, schema), "one copy: cluster / __replica__ are an HA pair");
            assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".series WHERE labels ? '__replica__'"));
        }
    }

    /** One sample of each named series (label s) of a cluster's replica. */
    private static WriteRequest batch(String cluster, String replica, long t, double value, String... names) {
        WriteRequest.Builder b = WriteRequest.newBuilder();
        for (String name : names) {
            b.addTimeseries(series("__name__", "test_ha", "s", name, "prometheus", cluster, "prometheus_replica", replica)
                    .addSamples(sample(t, value)));
        }
        return b.build();
    }

    @Test
    void should_count_a_cluster_whose_replicas_all_stopped_as_without_leader_through_the_ha_status_route() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("ha");
        Map<String, String> props = Map.of("prom2pg.ha.timeout-ms", "1500", "prom2pg.ha.status-interval-ms", "200");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, props).awaitReady(Duration.ofSeconds(30))) {
            // both clusters writing (each lease renewed faster than it runs out) until the route has read them
            Await.until(() -> {
                long t = System.currentTimeMillis();
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c1", "a", t, 1)).statusCode());
                assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c2", "a", t, 1)).statusCode());
                return prom2pg.metric("prom2pg_ha_clusters") == 2 && prom2pg.metric("prom2pg_ha_clusters_without_leader") == 0;
            }, Duration.ofSeconds(15), "two clusters, both led");
            // c2 keeps writing, c1 has stopped: its lease runs out after 1.5 s and nobody takes it over
            Await.until(() -> {
                RemoteWrite.post(prom2pg.writeUri(), request("c2", "a", System.currentTimeMillis(), 1));
                return prom2pg.metric("prom2pg_ha_clusters_without_leader") == 1;
            }, Duration.ofSeconds(10), "c1 without a leader");
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), request("c1", "b", System.currentTimeMillis(), 1)).statusCode(),
                    "a replica comes back and takes the lease");
            Await.until(() -> prom2pg.metric("prom2pg_ha_clusters_without_leader") == 0, Duration.ofSeconds(10), "led again");
            assertEquals(0, prom2pg.metric("prom2pg_maintenance_failures_total{route=\"ha-status\"}"));
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
