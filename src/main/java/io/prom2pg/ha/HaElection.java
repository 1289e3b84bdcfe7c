package io.prom2pg.ha;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.decode.Labels;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import io.prom2pg.store.StorageUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts one replica per Prometheus HA cluster and drops the others. A request's cluster and
 * replica come from its labels (Prometheus puts external labels on every series); the leader of
 * each cluster is a lease in PostgreSQL, so every prom2pg instance on the database agrees. The
 * leader renews its lease as it writes; when it has been silent for the timeout, the next
 * replica to write takes the lease over. Lease times are the database's clock.
 *
 * <p>Cluster and replica label names are configured as two lists paired by position; the first
 * pair found on a request's first series applies. A request with none of them is not an HA
 * write and is stored as it is.
 */
public class HaElection {

    private static final Logger LOG = LoggerFactory.getLogger(HaElection.class);

    /** The answer for one request. */
    public enum Decision { NOT_HA, LEADER, FOLLOWER }

    private record Pair(String cluster, String replica) {
    }

    /** What this instance knows of a cluster's lease, valid until {@code validUntilNanos}. */
    private record Lease(String leader, long validUntilNanos, long renewAfterNanos) {
    }

    private DataSource dataSource;
    private String schema = "prom2pg";
    private boolean enabled = true;
    private List<String> clusterLabels = List.of();
    private List<String> replicaLabels = List.of();
    private List<Pair> pairs = List.of();
    private long timeoutMillis = 30_000;
    private final ConcurrentHashMap<String, Lease> leases = new ConcurrentHashMap<>();

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
        this.clusterLabels = split(names);
        pair();
    }

    /** Replica label names, comma-separated; they are left out of stored series. */
    public void setReplicaLabels(String names) {
        this.replicaLabels = split(names);
        pair();
    }

    private void pair() {
        List<Pair> list = new ArrayList<>();
        for (int i = 0; i < Math.min(clusterLabels.size(), replicaLabels.size()); i++) {
            list.add(new Pair(clusterLabels.get(i), replicaLabels.get(i)));
        }
        this.pairs = List.copyOf(list);
    }

    private static List<String> split(String names) {
        List<String> list = new ArrayList<>();
        for (String n : names.split(",")) {
            if (!n.isBlank()) {
                list.add(n.trim());
            }
        }
        return list;
    }

    /** The labels to leave out of stored series: the replica labels, when election is on. */
    public Set<String> droppedLabels() {
        if (!enabled) {
            return Set.of();
        }
        Set<String> set = new HashSet<>();
        for (Pair p : pairs) {
            set.add(p.replica());
        }
        return Set.copyOf(set);
    }

    public void setTimeoutMillis(long timeoutMillis) {
        this.timeoutMillis = timeoutMillis;
    }

    /** Decides whether this request's samples are stored (leader) or dropped (follower). */
    public Decision decide(DecodedWrite write) {
        if (!enabled || pairs.isEmpty() || write.seriesCount() == 0) {
            return Decision.NOT_HA;
        }
        Labels labels = write.labels(0);
        for (Pair pair : pairs) {
            String cluster = value(labels, pair.cluster());
            String replica = value(labels, pair.replica());
            if (cluster != null && replica != null) {
                return decide(pair.cluster() + "=" + cluster, replica);
            }
        }
        return Decision.NOT_HA;
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

    Decision decide(String cluster, String replica) {
        long now = System.nanoTime();
        Lease lease = leases.get(cluster);
        if (lease != null && now < lease.validUntilNanos()) {
            if (!lease.leader().equals(replica)) {
                return Decision.FOLLOWER;
            }
            if (now < lease.renewAfterNanos()) {
                return Decision.LEADER;
            }
        }
        return claim(cluster, replica, now);
    }

    /**
     * One statement: creates the cluster's lease for this replica, renews it if this replica
     * holds it, or takes it over if it expired; in every case returns who leads and until when.
     */
    private Decision claim(String cluster, String replica, long now) {
        String sql = "INSERT INTO " + schema + ".ha_leases AS l (cluster, leader, lease_until)"
                + " VALUES (?, ?, now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (cluster) DO UPDATE SET leader = excluded.leader, lease_until = excluded.lease_until,"
                + " changed_at = CASE WHEN l.leader = excluded.leader THEN l.changed_at ELSE now() END"
                + " WHERE l.leader = excluded.leader OR l.lease_until < now()"
                + " RETURNING leader, extract(epoch FROM lease_until - now()) * 1000";
        String leader;
        double remainingMillis;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, cluster);
            ps.setString(2, replica);
            ps.setLong(3, timeoutMillis);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    leader = rs.getString(1);
                    remainingMillis = rs.getDouble(2);
                } else {
                    // another replica holds a live lease: read it
                    leader = null;
                    remainingMillis = 0;
                }
            }
            if (leader == null) {
                try (PreparedStatement read = c.prepareStatement("SELECT leader, extract(epoch FROM lease_until - now()) * 1000"
                        + " FROM " + schema + ".ha_leases WHERE cluster = ?")) {
                    read.setString(1, cluster);
                    try (ResultSet rs = read.executeQuery()) {
                        rs.next();
                        leader = rs.getString(1);
                        remainingMillis = rs.getDouble(2);
                    }
                }
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("HA lease check for " + cluster + " failed: " + Sql.oneLine(e), e);
        }
        long remaining = (long) (Math.max(0, remainingMillis) * 1_000_000);
        Lease previous = leases.put(cluster, new Lease(leader, now + remaining, now + remaining / 2));
        if (previous == null || !previous.leader().equals(leader)) {
            LOG.info("HA cluster {}: leader is replica {}", cluster, leader);
        }
        return leader.equals(replica) ? Decision.LEADER : Decision.FOLLOWER;
    }
}
