package io.prom2pg.ha;

/**
 * What {@link HaElection#decide} said of one request, carried by the route to
 * {@link HaElection#cover} and {@link HaElection#stored}: the role of its replica, and, for an HA
 * request, its cluster ({@code label=value}), replica and newest sample time (ms).
 */
public record HaDecision(Role role, String cluster, String replica, long newest) {

    public enum Role {
        /** Not from an HA pair: stored as it is. */
        NOT_HA,
        /** From its cluster's leader: stored, and its progress recorded. */
        LEADER,
        /** From a follower, acknowledged at once and not stored (follower-ack immediate). */
        FOLLOWER,
        /** From a follower: what the leader's copy covers is dropped, see {@link HaElection#cover}. */
        FOLLOWER_CHECK
    }

    /** Not an HA request. */
    public static final HaDecision NOT_HA = new HaDecision(Role.NOT_HA, null, null, Long.MIN_VALUE);
}
