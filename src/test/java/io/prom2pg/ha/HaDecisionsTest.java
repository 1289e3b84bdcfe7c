package io.prom2pg.ha;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import io.prom2pg.decode.RemoteWriteV1Reader;
import io.prom2pg.ha.HaDecision.Role;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.SampleChunk;
import io.prom2pg.store.StoredTimes;
import io.prom2pg.store.WriteBatch;
import org.junit.jupiter.api.Test;

/**
 * HA decisions as tables, without PostgreSQL: the leases are kept in memory with the same rules as
 * the {@code ha_leases} statement (renewed by their holder, taken over once run out), on a clock
 * the test moves. The lease SQL itself is tested through the routes in {@code HaElectionTest}.
 */
class HaDecisionsTest {

    /** At {@code atMillis}, a request of {@code replica} is decided {@code role}. */
    record Step(long atMillis, String replica, Role role) {
    }

    @Test
    void should_decide_who_leads_as_the_lease_is_renewed_and_runs_out() {
        // timeout 1 s: a renews while it writes; b takes over 1 s after a's last renewal
        List<Step> table = List.of(
                new Step(0, "a", Role.LEADER),            // the first replica seen leads
                new Step(10, "b", Role.FOLLOWER_CHECK),   // the other one follows, checked against a's copy
                new Step(50, "a", Role.LEADER),           // within a tenth of the timeout: from memory
                new Step(500, "a", Role.LEADER),          // renewed: runs until 1500
                new Step(1400, "b", Role.FOLLOWER_CHECK), // a's lease still runs
                new Step(1501, "b", Role.LEADER),         // a silent for the timeout: b takes over
                new Step(1600, "a", Role.FOLLOWER_CHECK), // a is the follower now
                new Step(2400, "b", Role.LEADER));        // b keeps it while it writes
        run(table, "covered");
    }

    @Test
    void should_acknowledge_followers_at_once_in_immediate_mode() {
        run(List.of(
                new Step(0, "a", Role.LEADER),
                new Step(10, "b", Role.FOLLOWER),
                new Step(1100, "b", Role.LEADER),
                new Step(1200, "a", Role.FOLLOWER)), "immediate");
    }

    @Test
    void should_leave_requests_without_both_labels_or_with_election_off_as_they_are() {
        HaElection ha = election(new AtomicLong(), "covered");
        assertEquals(HaDecision.NOT_HA, ha.decide(RemoteWriteV1Reader.read(request("prometheus", "k8s").toByteArray())));
        assertEquals(HaDecision.NOT_HA, ha.decide(RemoteWriteV1Reader.read(request("prometheus_replica", "a").toByteArray())));
        assertEquals(HaDecision.NOT_HA, ha.decide(RemoteWriteV1Reader.read(WriteRequest.newBuilder().build().toByteArray())));
        HaDecision led = ha.decide(RemoteWriteV1Reader.read(request("prometheus", "k8s", "prometheus_replica", "a").toByteArray()));
        assertEquals(new HaDecision(Role.LEADER, "prometheus=k8s", "a", 1_000), led);
        ha.setEnabled(false);
        assertEquals(HaDecision.NOT_HA, ha.decide(RemoteWriteV1Reader.read(request("prometheus", "k8s", "prometheus_replica", "a").toByteArray())));
    }

    /** What the store holds of a series, a follower's sample, the leader's progress: kept, waited for, or stored. */
    record Covering(long storedNewest, long storedPrevious, long sample, long progress, boolean covered, boolean waits) {
    }

    @Test
    void should_cover_a_followers_sample_by_the_leaders_copy_of_the_same_scrape_and_store_what_it_went_past() {
        long none = StoredTimes.NONE;
        long noProgress = Leases.NO_TIME;
        // a 15 s series, lease timeout 10 s
        List<Covering> table = List.of(
                new Covering(15_000, 0, 15_000, noProgress, true, false),      // the leader stored this time
                new Covering(15_000, 0, 20_000, noProgress, true, false),      // the same scrape, 5 s later on the follower
                new Covering(15_000, 0, 23_000, noProgress, false, true),      // past half the interval: the next scrape, wait
                new Covering(15_000, 0, 30_000, 59_999, false, true),          // the leader is not two intervals past it yet
                new Covering(15_000, 0, 30_000, 60_001, false, false),         // it is: the leader never stored it, store it
                new Covering(none, none, 1_000, noProgress, false, true),      // nothing stored and no progress: wait
                new Covering(none, none, 1_000, 11_001, false, false),         // nothing stored, the leader 10 s past: store it
                new Covering(none, none, 1_000, 10_999, false, true));         // ... not yet past the timeout: wait
        for (Covering row : table) {
            SampleChunk chunk = new SampleChunk(SampleChunk.windowOf(row.sample()), 1);
            chunk.add(row.sample(), 7, 1.0);
            Coverage coverage = Coverage.of(new WriteBatch(List.of(chunk), 1));
            coverage.refresh((kind, ids, from) -> new StoredTimes.Newest[] {new StoredTimes.Newest(row.storedNewest(), row.storedPrevious())});
            assertEquals(row.covered(), coverage.covered(7, row.sample()), row + ": covered");
            assertEquals(row.waits() ? 1 : 0, coverage.waiting(row.progress(), 10_000), row + ": waits");
        }
    }

    private static void run(List<Step> table, String ack) {
        AtomicLong millis = new AtomicLong();
        HaElection ha = election(millis, ack);
        for (Step step : table) {
            millis.set(step.atMillis());
            assertEquals(step.role(), ha.decide("prometheus=k8s", step.replica()), step.toString());
        }
    }

    private static HaElection election(AtomicLong millis, String ack) {
        HaElection ha = new HaElection();
        ha.setClusterLabels("prometheus");
        ha.setReplicaLabels("prometheus_replica");
        ha.setTimeoutMillis(1_000);
        ha.setFollowerAck(ack);
        ha.setClock(() -> millis.get() * 1_000_000);
        ha.setLeases(new MemoryLeases(millis));
        return ha;
    }

    private static WriteRequest request(String... labels) {
        String[] all = new String[labels.length + 2];
        all[0] = "__name__";
        all[1] = "up";
        System.arraycopy(labels, 0, all, 2, labels.length);
        return WriteRequest.newBuilder().addTimeseries(series(all).addSamples(sample(1_000, 1))).build();
    }

    /** The rules of the {@code ha_leases} statements, in memory, on the test's clock. */
    static final class MemoryLeases extends Leases {
        private record Row(String leader, long until, long leaderTime) {
        }

        private final AtomicLong millis;
        private final Map<String, Row> rows = new HashMap<>();

        MemoryLeases(AtomicLong millis) {
            super(null, "prom2pg");
            this.millis = millis;
        }

        @Override
        public Lease claim(String cluster, String replica, long timeoutMillis) {
            long now = millis.get();
            Row row = rows.get(cluster);
            if (row == null || row.leader().equals(replica) || row.until() < now) {
                long kept = row != null && row.leader().equals(replica) ? row.leaderTime() : NO_TIME;
                row = new Row(replica, now + timeoutMillis, kept);
                rows.put(cluster, row);
            }
            return new Lease(row.leader(), row.until() - now, row.leaderTime());
        }

        @Override
        public long progress(String cluster, String replica, long newest, long timeoutMillis) {
            Row row = rows.get(cluster);
            if (row == null || !row.leader().equals(replica)) {
                return NO_TIME;
            }
            long time = Math.max(row.leaderTime(), newest);
            rows.put(cluster, new Row(replica, millis.get() + timeoutMillis, time));
            return time;
        }
    }
}
