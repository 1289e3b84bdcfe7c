package io.prom2pg.ha;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.Sql;

/**
 * The HA leases in PostgreSQL ({@code ha_leases}, one row a cluster), so that every prom2pg
 * instance on the database agrees on each cluster's leader. Lease times are the database's clock.
 */
public class Leases {

    /** No sample time (no progress recorded yet). */
    public static final long NO_TIME = Long.MIN_VALUE;

    /**
     * A cluster's lease as the database has it: its leader, how long it still runs (ms), and the
     * newest sample time the leader has stored (ms, {@link #NO_TIME} if none recorded).
     */
    public record Lease(String leader, double remainingMillis, long leaderTime) {
    }

    /** A cluster's row as operators look at it (the console, prom2pg_ha_clusters_without_leader); leaderTime may be null. */
    public record Row(String cluster, String leader, java.time.Instant leaseUntil, java.time.Instant changedAt,
                      java.time.Instant leaderTime) {
    }

    /** Every cluster's lease, by cluster name. */
    public static java.util.List<Row> all(Connection c, String schema) throws SQLException {
        java.util.List<Row> rows = new java.util.ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT cluster, leader, lease_until, changed_at, leader_time FROM "
                + schema + ".ha_leases ORDER BY cluster");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new Row(rs.getString(1), rs.getString(2), instant(rs.getTimestamp(3)), instant(rs.getTimestamp(4)),
                        instant(rs.getTimestamp(5))));
            }
        }
        return rows;
    }

    private static java.time.Instant instant(java.sql.Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private final DataSource dataSource;
    private final String schema;

    public Leases(DataSource dataSource, String schema) {
        this.dataSource = dataSource;
        this.schema = schema;
    }

    /**
     * One statement: creates the cluster's lease for this replica, renews it if this replica holds
     * it, or takes it over if it expired; in every case returns who leads and until when.
     */
    public Lease claim(String cluster, String replica, long timeoutMillis) {
        String sql = "INSERT INTO " + schema + ".ha_leases AS l (cluster, leader, lease_until)"
                + " VALUES (?, ?, now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (cluster) DO UPDATE SET leader = excluded.leader, lease_until = excluded.lease_until,"
                + " changed_at = CASE WHEN l.leader = excluded.leader THEN l.changed_at ELSE now() END,"
                + " leader_time = CASE WHEN l.leader = excluded.leader THEN l.leader_time END"
                + " WHERE l.leader = excluded.leader OR l.lease_until < now()"
                + " RETURNING leader, extract(epoch FROM lease_until - now()) * 1000, extract(epoch FROM leader_time) * 1000";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, cluster);
            ps.setString(2, replica);
            ps.setLong(3, timeoutMillis);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return new Lease(rs.getString(1), rs.getDouble(2), millis(rs, 3));
                }
            }
            // another replica holds a live lease: read it
            try (PreparedStatement read = c.prepareStatement("SELECT leader, extract(epoch FROM lease_until - now()) * 1000,"
                    + " extract(epoch FROM leader_time) * 1000 FROM " + schema + ".ha_leases WHERE cluster = ?")) {
                read.setString(1, cluster);
                try (ResultSet rs = read.executeQuery()) {
                    rs.next();
                    return new Lease(rs.getString(1), rs.getDouble(2), millis(rs, 3));
                }
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("HA lease check for " + cluster + " failed: " + Sql.oneLine(e), e);
        }
    }

    /**
     * Records {@code newest} as the leader's progress (only forward, and never past the database's
     * clock, so that one sample from the future cannot cover everything) and renews the lease, if
     * {@code replica} still holds it. Not waited on to reach the disk: a progress lost in a crash
     * only makes the follower retry longer. Returns the progress recorded, or {@link #NO_TIME} when
     * the lease is no longer this replica's.
     */
    public long progress(String cluster, String replica, long newest, long timeoutMillis) throws SQLException {
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
                return leaderTime;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    private static long millis(ResultSet rs, int column) throws SQLException {
        double value = rs.getDouble(column);
        return rs.wasNull() ? NO_TIME : Math.round(value);
    }
}
