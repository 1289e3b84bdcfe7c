package io.prom2pg.store;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * What the store already holds of some series: for each, its two newest sample times (the newest,
 * and the one before it, which gives the series' interval). One statement, one backward index
 * probe per series on {@code (series_id, time)}; read by HA election to see whether a follower's
 * samples have the leader's copy.
 */
public final class StoredTimes {

    /** Returned for a series with nothing stored at or after its time. */
    public static final long NONE = Long.MIN_VALUE;

    private StoredTimes() {
    }

    /** The two newest stored times of one series (ms), {@link #NONE} where there is none. */
    public record Newest(long newest, long previous) {
        /** The series' interval as the last two stored samples show it, or 0 when not known. */
        public long interval() {
            return newest == NONE || previous == NONE ? 0 : newest - previous;
        }
    }

    /**
     * @param table {@code samples} or {@code histograms}
     * @param ids   distinct series ids
     * @param from  per series, the earliest time (ms) of interest: samples from an hour before it
     *              are read, so that the partitions looked at stay few
     * @return per series, its two newest stored times at or after an hour before {@code from}
     */
    public static Newest[] newest(Connection c, String schema, String table, long[] ids, long[] from) throws SQLException {
        if (!table.equals("samples") && !table.equals("histograms")) {
            throw new IllegalArgumentException(table);
        }
        Newest[] newest = new Newest[ids.length];
        if (ids.length == 0) {
            return newest;
        }
        String sql = "SELECT (SELECT array_agg(ms) FROM (SELECT (extract(epoch FROM x.time) * 1000)::int8 AS ms FROM "
                + schema + "." + table + " x WHERE x.series_id = f.s"
                + " AND x.time >= timestamptz 'epoch' + (f.t - 3600000) * interval '1 millisecond'"
                + " ORDER BY x.time DESC LIMIT 2) y)"
                + " FROM unnest(?::int8[], ?::int8[]) WITH ORDINALITY AS f(s, t, i) ORDER BY f.i";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, ids); // the driver binds a long[] as int8[]
            ps.setObject(2, from);
            try (ResultSet rs = ps.executeQuery()) {
                for (int i = 0; rs.next(); i++) {
                    Array a = rs.getArray(1);
                    Long[] times = a == null ? new Long[0] : (Long[]) a.getArray();
                    newest[i] = new Newest(times.length > 0 ? times[0] : NONE, times.length > 1 ? times[1] : NONE);
                }
            }
        }
        return newest;
    }
}
