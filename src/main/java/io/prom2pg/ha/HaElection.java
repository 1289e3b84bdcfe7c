package io.prom2pg.ha;

import io.prom2pg.failure.FollowerAheadException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.config.Settings;
import io.prom2pg.decode.Labels;
import io.prom2pg.observe.IngestMetrics;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import io.prom2pg.failure.StorageUnavailableException;
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

    private static final long NO_TIME = Long.MIN_VALUE;
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
    private final ConcurrentHashMap<String, Lease> leases = new ConcurrentHashMap<>();
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
        Lease lease = leases.get(cluster);
        if (lease == null || !lease.leader().equals(replica)) {
            return; // a follower that did not take the lease over
        }
        AtomicLong recorded = progress.computeIfAbsent(cluster, k -> new AtomicLong(NO_TIME));
        if (newest <= recorded.get()) {
            return;
        }
        String sql = "UPDATE " + schema + ".ha_leases"
                + " SET leader_time = greatest(leader_time, least(to_timestamp(? / 1000.0), now())),"
                + " lease_until = now() + ? * interval '1 millisecond' WHERE cluster = ? AND leader = ?"
                + " RETURNING extract(epoch FROM leader_time) * 1000";
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement(); PreparedStatement ps = c.prepareStatement(sql)) {
                st.execute("SET LOCAL synchronous_commit = off");
                ps.setLong(1, newest);
                ps.setLong(2, timeoutMillis);
                ps.setString(3, cluster);
                ps.setString(4, replica);
                long leaderTime = NO_TIME;
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        leaderTime = millis(rs, 1);
                    }
                }
                c.commit();
                if (leaderTime == NO_TIME) {
                    progress.remove(cluster); // the lease is no longer this replica's
                    return;
                }
                recorded.accumulateAndGet(newest, Math::max);
                long progressTime = leaderTime;
                // followers served here see the progress at once
                leases.computeIfPresent(cluster, (k, l) -> l.leader().equals(replica) && l.leaderTime() < progressTime
                        ? new Lease(l.leader(), l.validUntilNanos(), l.renewAfterNanos(), progressTime, l.readNanos()) : l);
            } finally {
                c.setAutoCommit(true);
            }
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
        long now = System.nanoTime();
        Lease lease = leases.get(cluster);
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
            long deadline = System.nanoTime() + (mayWait ? followerWaitMillis * 1_000_000 : 0);
            while (true) {
                samples.refresh(dataSource, schema);
                long now = System.nanoTime();
                Lease lease = leases.get(cluster);
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

    /** A follower's samples and histograms against what the store holds of their series. */
    private static final class Coverage {
        private final Times samples;
        private final Times histograms;

        private Coverage(Times samples, Times histograms) {
            this.samples = samples;
            this.histograms = histograms;
        }

        static Coverage of(WriteBatch batch) {
            Times samples = new Times("samples");
            for (var chunk : batch.chunks()) {
                long[] series = chunk.getSeries();
                long[] times = chunk.getTimes();
                for (int i = 0; i < chunk.getSize(); i++) {
                    samples.add(series[i], times[i]);
                }
            }
            Times histograms = new Times("histograms");
            for (var h : batch.histograms()) {
                histograms.add(h.seriesId(), h.time());
            }
            return new Coverage(samples, histograms);
        }

        void refresh(DataSource dataSource, String schema) {
            samples.refresh(dataSource, schema);
            histograms.refresh(dataSource, schema);
        }

        boolean covered(long series, long time) {
            return samples.covered(series, time);
        }

        int waiting(long progress, long timeoutMillis) {
            return samples.waiting(progress, timeoutMillis) + histograms.waiting(progress, timeoutMillis);
        }

        /** Whether a histogram is neither covered nor waited for (so the request's extras are stored). */
        boolean histogramGaps() {
            return histograms.uncovered() > 0;
        }
    }

    /** The times sent of one kind of sample, per series, and the two newest stored of each series. */
    private static final class Times {
        /** One series: the earliest and newest time sent, and what the store holds of it. */
        private static final class Series {
            long earliest = Long.MAX_VALUE;
            long latest = Long.MIN_VALUE;
            StoredTimes.Newest stored = new StoredTimes.Newest(StoredTimes.NONE, StoredTimes.NONE);

            /** Stored at the time or later, less half the series' interval: the same scrape of the other replica. */
            boolean covers(long time) {
                return stored.newest() != StoredTimes.NONE && stored.newest() >= time - stored.interval() / 2;
            }
        }

        private final String table;
        private final List<long[]> sent = new ArrayList<>(); // {series, time}
        private final Map<Long, Series> bySeries = new HashMap<>();

        Times(String table) {
            this.table = table;
        }

        void add(long series, long time) {
            sent.add(new long[] {series, time});
            Series s = bySeries.computeIfAbsent(series, x -> new Series());
            s.earliest = Math.min(s.earliest, time);
            s.latest = Math.max(s.latest, time);
        }

        /** Reads the newest stored times of every series whose newest time sent is not covered yet. */
        void refresh(DataSource dataSource, String schema) {
            List<Long> open = new ArrayList<>();
            bySeries.forEach((id, s) -> {
                if (!s.covers(s.latest)) {
                    open.add(id);
                }
            });
            if (open.isEmpty()) {
                return;
            }
            long[] ids = new long[open.size()];
            long[] from = new long[open.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = open.get(i);
                from[i] = bySeries.get(ids[i]).earliest;
            }
            try (Connection c = dataSource.getConnection()) {
                StoredTimes.Newest[] newest = StoredTimes.newest(c, schema, table, ids, from);
                for (int i = 0; i < ids.length; i++) {
                    bySeries.get(ids[i]).stored = newest[i];
                }
            } catch (SQLException e) {
                throw new StorageUnavailableException("HA coverage check failed: " + Sql.oneLine(e), e);
            }
        }

        boolean covered(long series, long time) {
            Series s = bySeries.get(series);
            return s != null && s.covers(time);
        }

        /** Samples neither covered nor gone past by the leader's progress by more than the timeout (or two intervals). */
        int waiting(long progress, long timeoutMillis) {
            int n = 0;
            for (long[] x : sent) {
                if (!covered(x[0], x[1]) && !gonePast(x[0], x[1], progress, timeoutMillis)) {
                    n++;
                }
            }
            return n;
        }

        int uncovered() {
            int n = 0;
            for (long[] x : sent) {
                if (!covered(x[0], x[1])) {
                    n++;
                }
            }
            return n;
        }

        private boolean gonePast(long series, long time, long progress, long timeoutMillis) {
            return progress != NO_TIME && progress > time + Math.max(timeoutMillis, 2 * bySeries.get(series).stored.interval());
        }
    }

    /**
     * One statement: creates the cluster's lease for this replica, renews it if this replica
     * holds it, or takes it over if it expired; in every case returns who leads and until when.
     */
    private Lease claim(String cluster, String replica, long now) {
        String sql = "INSERT INTO " + schema + ".ha_leases AS l (cluster, leader, lease_until)"
                + " VALUES (?, ?, now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (cluster) DO UPDATE SET leader = excluded.leader, lease_until = excluded.lease_until,"
                + " changed_at = CASE WHEN l.leader = excluded.leader THEN l.changed_at ELSE now() END,"
                + " leader_time = CASE WHEN l.leader = excluded.leader THEN l.leader_time END"
                + " WHERE l.leader = excluded.leader OR l.lease_until < now()"
                + " RETURNING leader, extract(epoch FROM lease_until - now()) * 1000, extract(epoch FROM leader_time) * 1000";
        String leader;
        double remainingMillis;
        long leaderTime = NO_TIME;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, cluster);
            ps.setString(2, replica);
            ps.setLong(3, timeoutMillis);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    leader = rs.getString(1);
                    remainingMillis = rs.getDouble(2);
                    leaderTime = millis(rs, 3);
                } else {
                    // another replica holds a live lease: read it
                    leader = null;
                    remainingMillis = 0;
                }
            }
            if (leader == null) {
                try (PreparedStatement read = c.prepareStatement("SELECT leader, extract(epoch FROM lease_until - now()) * 1000,"
                        + " extract(epoch FROM leader_time) * 1000 FROM " + schema + ".ha_leases WHERE cluster = ?")) {
                    read.setString(1, cluster);
                    try (ResultSet rs = read.executeQuery()) {
                        rs.next();
                        leader = rs.getString(1);
                        remainingMillis = rs.getDouble(2);
                        leaderTime = millis(rs, 3);
                    }
                }
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("HA lease check for " + cluster + " failed: " + Sql.oneLine(e), e);
        }
        long remaining = (long) (Math.max(0, remainingMillis) * 1_000_000);
        // renewed at most every tenth of the timeout: the lease runs out 0.9 to 1 timeout after the last write
        long renewal = Math.min(remaining / 2, timeoutMillis * 100_000L);
        Lease lease = new Lease(leader, now + remaining, now + renewal, leaderTime, now);
        Lease previous = leases.put(cluster, lease);
        if (previous == null || !previous.leader().equals(leader)) {
            progress.remove(cluster);
            LOG.info("HA cluster {}: leader is replica {}", cluster, leader);
        }
        return lease;
    }

    private static long millis(ResultSet rs, int column) throws SQLException {
        double value = rs.getDouble(column);
        return rs.wasNull() ? NO_TIME : Math.round(value);
    }
}
