package io.prom2pg.ha;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import javax.sql.DataSource;

import io.prom2pg.config.Settings;
import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.decode.Labels;
import io.prom2pg.failure.FollowerAheadException;
import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.observe.IngestMetrics;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import io.prom2pg.store.StoredTimes;
import io.prom2pg.store.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts one replica per Prometheus HA cluster and drops the others. A request's cluster and
 * replica come from its labels (Prometheus puts external labels on every series); the leader of
 * each cluster is a lease in PostgreSQL, so every prom2pg instance on the database agrees. The
 * leader renews its lease as it writes; when it has been silent for the timeout, the next
 * replica to write takes the lease over. Lease times are the database's clock.
 *
 * <p>A follower's sample is acknowledged and dropped only when the store holds its series (the
 * replica label left out, so the leader's series) at that time or later, less half the series'
 * interval: the leader's copy of the same scrape is stored. Coverage is per series, read from the store, so Prometheus splitting a
 * scrape over batches and shards, or retrying batches out of order, does not matter. A follower's
 * request with samples not covered yet waits for the leader (up to the follower wait), then is
 * answered 503 and retried; when the leader dies meanwhile, the lease moves and the follower's
 * samples are stored. A follower sample the leader has gone past by more than the lease timeout
 * without storing its series (a target only the follower reaches) is stored as well. With
 * {@code followerAck = immediate}, followers are acknowledged at once instead (no waiting; a
 * failover may then lose up to the lease timeout of the follower's samples).
 *
 * <p>The leader renews its lease as it writes (covered: each write that moves its progress;
 * immediate: at most every tenth of the timeout), so the lease runs out between 0.9 and 1 timeout
 * after the leader's last write, in both modes.
 *
 * <p>Cluster and replica label names are configured as two lists paired by position; the first
 * pair found on a request's first series applies. A request with none of them is not an HA
 * write and is stored as it is.
 */
public class HaElection {

    private static final Logger LOG = LoggerFactory.getLogger(HaElection.class);

    private record Pair(String cluster, String replica) {
    }

    /**
     * What this instance knows of a cluster's lease, valid until {@code validUntilNanos}: the
     * leader, and the newest sample time (ms) the leader has stored, as read at {@code readNanos}.
     */
    private record Lease(String leader, long validUntilNanos, long renewAfterNanos, long leaderTime, long readNanos) {
    }

    private static final long NO_TIME = Leases.NO_TIME;
    /** How often a waiting follower request looks at the store and the lease again. */
    private static final long POLL_MILLIS = 200;
    private static final long LEASE_REREAD_NANOS = 1_000_000_000L;

    private DataSource dataSource;
    private String schema = "prom2pg";
    private boolean enabled = true;
    private List<String> clusterLabels = List.of();
    private List<String> replicaLabels = List.of();
    private List<Pair> pairs = List.of();
    private long timeoutMillis = 30_000;
    private boolean followerAckImmediate;
    private long followerWaitMillis = 10_000;
    private Semaphore waiters = new Semaphore(8);
    private IngestMetrics metrics = new IngestMetrics();
    private Leases leases;
    /** Nanoseconds, for lease validity and the follower wait; the system's monotonic clock unless a test gives one. */
    private LongSupplier clock = System::nanoTime;
    /** Per cluster: what this instance knows of its lease. */
    private final ConcurrentHashMap<String, Lease> cache = new ConcurrentHashMap<>();
    /** Per cluster led from here: the newest sample time written to the lease row. */
    private final ConcurrentHashMap<String, AtomicLong> progress = new ConcurrentHashMap<>();

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** Cluster label names, comma-separated, paired by position with {@link #setReplicaLabels}. */
    public void setClusterLabels(String names) {
        this.clusterLabels = Settings.commaSeparated(names);
        pair();
    }

    /** Replica label names, comma-separated (left out of stored series: see {@code series.DroppedLabels}). */
    public void setReplicaLabels(String names) {
        this.replicaLabels = Settings.commaSeparated(names);
        pair();
    }

    private void pair() {
        List<Pair> list = new ArrayList<>();
        for (int i = 0; i < Math.min(clusterLabels.size(), replicaLabels.size()); i++) {
            list.add(new Pair(clusterLabels.get(i), replicaLabels.get(i)));
        }
        this.pairs = List.copyOf(list);
    }

    /** The lease SQL; made from the data source and schema unless given (tests give an in-memory one). */
    synchronized Leases leases() {
        if (leases == null) {
            leases = new Leases(dataSource, schema);
        }
        return leases;
    }

    void setLeases(Leases leases) {
        this.leases = leases;
    }

    void setClock(LongSupplier clock) {
        this.clock = clock;
    }

    /** What the store holds of a follower's series: the two newest stored times of each, for {@link Coverage}. */
    private StoredTimes.Newest[] newestStored(String table, long[] ids, long[] from) {
        try (Connection c = dataSource.getConnection()) {
            return StoredTimes.newest(c, schema, table, ids, from);
        } catch (SQLException e) {
            throw new StorageUnavailableException("HA coverage check failed: " + Sql.oneLine(e), e);
        }
    }

    public void setTimeoutMillis(long timeoutMillis) {
        this.timeoutMillis = timeoutMillis;
    }

    /** How long a follower's request waits for its leader's copy before it is answered 503 and retried. */
    public void setFollowerWaitMillis(long followerWaitMillis) {
        this.followerWaitMillis = followerWaitMillis;
    }

    /**
     * How many follower requests may wait for their leader's copy at once; the others are answered
     * at once (a waiting request holds an HTTP worker thread).
     */
    public void setFollowerMaxWaiting(int followerMaxWaiting) {
        this.waiters = new Semaphore(Math.max(0, followerMaxWaiting));
    }

    public void setMetrics(IngestMetrics metrics) {
        this.metrics = metrics;
    }

    /** {@code covered} (the default): acknowledge a follower once its leader has stored further; {@code immediate}: at once. */
    public void setFollowerAck(String mode) {
        switch (mode.trim()) {
            case "covered" -> followerAckImmediate = false;
            case "immediate" -> followerAckImmediate = true;
            default -> throw new IllegalArgumentException("prom2pg.ha.follower-ack must be covered or immediate, not " + mode);
        }
    }

    /**
     * Decides whether this request's samples are stored (leader), dropped at once (a follower,
     * acknowledged immediately) or checked against the leader's copy ({@link #cover}); the
     * decision names the cluster, the replica and the request's newest sample time.
     */
    public HaDecision decide(DecodedWrite write) {
        if (!enabled || pairs.isEmpty() || write.seriesCount() == 0) {
            return HaDecision.NOT_HA;
        }
        Labels labels = write.labels(0);
        for (Pair pair : pairs) {
            String cluster = value(labels, pair.cluster());
            String replica = value(labels, pair.replica());
            if (cluster != null && replica != null) {
                String key = pair.cluster() + "=" + cluster;
                // the leader's progress is only needed when followers wait for it
                long newest = followerAckImmediate ? NO_TIME : newest(write);
                return new HaDecision(decide(key, replica), key, replica, newest);
            }
        }
        return HaDecision.NOT_HA;
    }

    /**
     * After a request of an HA pair is committed, if its replica leads (a follower may have taken
     * the lease over in {@link #cover}): its newest sample time becomes the leader's progress
     * in the lease row (only forward, and never past the database's clock, so that one sample
     * from the future cannot cover everything), renewing the lease as well. The update is not
     * waited on to reach the disk: a progress lost in a crash only makes the follower retry longer.
     */
    public void stored(HaDecision decision) {
        String cluster = decision.cluster();
        String replica = decision.replica();
        long newest = decision.newest();
        if (decision.role() == HaDecision.Role.NOT_HA || decision.role() == HaDecision.Role.FOLLOWER || newest == NO_TIME) {
            return;
        }
        Lease lease = cache.get(cluster);
        if (lease == null || !lease.leader().equals(replica)) {
            return; // a follower that did not take the lease over
        }
        AtomicLong recorded = progress.computeIfAbsent(cluster, k -> new AtomicLong(NO_TIME));
        if (newest <= recorded.get()) {
            return;
        }
        try {
            long leaderTime = leases().progress(cluster, replica, newest, timeoutMillis);
            if (leaderTime == NO_TIME) {
                progress.remove(cluster); // the lease is no longer this replica's
                return;
            }
            recorded.accumulateAndGet(newest, Math::max);
            // followers served here see the progress at once
            cache.computeIfPresent(cluster, (k, l) -> l.leader().equals(replica) && l.leaderTime() < leaderTime
                    ? new Lease(l.leader(), l.validUntilNanos(), l.renewAfterNanos(), leaderTime, l.readNanos()) : l);
        } catch (SQLException e) {
            // the samples are stored; the follower retries until a later progress is recorded
            LOG.warn("HA cluster {}: recording the leader's progress failed: {}", cluster, Sql.oneLine(e));
        }
    }

    private static long newest(DecodedWrite write) {
        long newest = NO_TIME;
        for (int j = 0; j < write.sampleCount(); j++) {
            newest = Math.max(newest, write.sampleTime(j));
        }
        for (var h : write.histograms()) {
            newest = Math.max(newest, h.timestamp());
        }
        return newest;
    }

    private static String value(Labels labels, String name) {
        String[] names = labels.names();
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name) && !labels.values()[i].isEmpty()) {
                return labels.values()[i];
            }
        }
        return null;
    }

    HaDecision.Role decide(String cluster, String replica) {
        long now = clock.getAsLong();
        Lease lease = cache.get(cluster);
        if (lease != null && now < lease.validUntilNanos()) {
            if (!lease.leader().equals(replica)) {
                return follower();
            }
            if (now < lease.renewAfterNanos()) {
                return HaDecision.Role.LEADER;
            }
        }
        lease = claim(cluster, replica, now);
        return lease.leader().equals(replica) ? HaDecision.Role.LEADER : follower();
    }

    private HaDecision.Role follower() {
        return followerAckImmediate ? HaDecision.Role.FOLLOWER : HaDecision.Role.FOLLOWER_CHECK;
    }

    /**
     * What of a resolved request to store: all of it unless it comes from a follower. A follower
     * acknowledged at once (follower-ack immediate) stores nothing. For any other follower's request:
     * the samples to store, none when the
     * leader's copy covers them all (they are dropped and counted). A sample is covered when the
     * store holds its series at its time or later, less half the series' interval (the two newest
     * stored samples give it): the leader's sample of the same scrape, whichever replica scraped
     * first. Waits up to the follower wait for samples not covered yet (at most
     * {@code followerMaxWaiting} requests at once; the others are answered at once), re-reading the
     * lease meanwhile; if the lease runs out, this replica takes it over and what is not covered is
     * stored. A sample the leader has gone past by more than the lease timeout (or two intervals)
     * without storing its series is stored. Anything else not covered at the end is a
     * {@link FollowerAheadException} (503, retried). Before it waits, it gives back {@code slot} (the
     * request's admission permit, null if none), so that waiting followers do not hold back other
     * requests.
     */
    public WriteBatch cover(WriteBatch batch, HaDecision decision, AutoCloseable slot) throws Exception {
        if (decision.role() == HaDecision.Role.FOLLOWER) {
            metrics.followerDropped(batch.sampleCount());
            return batch.retain((series, time) -> false, false);
        }
        if (decision.role() != HaDecision.Role.FOLLOWER_CHECK) {
            return batch;
        }
        String cluster = decision.cluster();
        String replica = decision.replica();
        Coverage samples = Coverage.of(batch);
        if (slot != null) {
            slot.close();
        }
        boolean mayWait = waiters.tryAcquire();
        try {
            long deadline = clock.getAsLong() + (mayWait ? followerWaitMillis * 1_000_000 : 0);
            while (true) {
                samples.refresh(this::newestStored);
                long now = clock.getAsLong();
                Lease lease = cache.get(cluster);
                if (lease == null || now >= lease.validUntilNanos() || now - lease.readNanos() >= LEASE_REREAD_NANOS) {
                    lease = claim(cluster, replica, now);
                }
                if (lease.leader().equals(replica)) {
                    // took over: this replica's copy is the one from now on; what the old leader stored stays
                    return batch.retain((series, time) -> !samples.covered(series, time), true);
                }
                long progress = lease.leaderTime();
                int notCovered = samples.waiting(progress, timeoutMillis);
                if (notCovered == 0) {
                    WriteBatch gaps = batch.retain((series, time) -> !samples.covered(series, time), samples.histogramGaps());
                    metrics.followerDropped(batch.sampleCount() - gaps.sampleCount());
                    if (gaps.sampleCount() > 0) {
                        LOG.debug("HA cluster {}: storing {} sample(s) of replica {} its leader {} went past without", cluster,
                                gaps.sampleCount(), replica, lease.leader());
                    }
                    return gaps;
                }
                if (now >= deadline) {
                    throw new FollowerAheadException("HA cluster " + cluster + ": replica " + replica + " sent " + notCovered
                            + " sample(s) its leader " + lease.leader() + " has not stored yet (waited "
                            + (mayWait ? followerWaitMillis : 0) + " ms)");
                }
                Thread.sleep(Math.max(1, Math.min(POLL_MILLIS, (deadline - now) / 1_000_000)));
            }
        } finally {
            if (mayWait) {
                waiters.release();
            }
        }
    }

    /** Claims, renews or reads the cluster's lease, and keeps what it says until it runs out. */
    private Lease claim(String cluster, String replica, long now) {
        Leases.Lease claimed = leases().claim(cluster, replica, timeoutMillis);
        long remaining = (long) (Math.max(0, claimed.remainingMillis()) * 1_000_000);
        // renewed at most every tenth of the timeout: the lease runs out 0.9 to 1 timeout after the last write
        long renewal = Math.min(remaining / 2, timeoutMillis * 100_000L);
        Lease lease = new Lease(claimed.leader(), now + remaining, now + renewal, claimed.leaderTime(), now);
        Lease previous = cache.put(cluster, lease);
        if (previous == null || !previous.leader().equals(claimed.leader())) {
            progress.remove(cluster);
            LOG.info("HA cluster {}: leader is replica {}", cluster, claimed.leader());
        }
        return lease;
    }
}
