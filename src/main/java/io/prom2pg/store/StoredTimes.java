package io.prom2pg.store;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * What the store already holds of some series: for each, the newest sample time at or after a
 * given time. One statement, one backward index probe per series on {@code (series_id, time)};
 * read by HA election to see whether a follower's samples have the leader's copy.
 */
public final class StoredTimes {

    /** Returned for a series with nothing stored at or after its time. */
    public static final long NONE = Long.MIN_VALUE;

    private StoredTimes() {
    }

    /**
     * @param table {@code samples} or {@code histograms}
     * @param ids   distinct series ids
     * @param from  per series, the earliest time (ms) of interest
     * @return per series, the newest stored time (ms) at or after {@code from}, or {@link #NONE}
     */
    public static long[] newest(Connection c, String schema, String table, long[] ids, long[] from) throws SQLException {
        if (!table.equals("samples") && !table.equals("histograms")) {
            throw new IllegalArgumentException(table);
        }
        long[] newest = new long[ids.length];
        if (ids.length == 0) {
            return newest;
        }
        String sql = "SELECT (SELECT (extract(epoch FROM max(x.time)) * 1000)::int8 FROM " + schema + "." + table + " x"
                + " WHERE x.series_id = f.s AND x.time >= timestamptz 'epoch' + f.t * interval '1 millisecond')"
                + " FROM unnest(?::int8[], ?::int8[]) WITH ORDINALITY AS f(s, t, i) ORDER BY f.i";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            Array idArray = c.createArrayOf("int8", box(ids));
            Array fromArray = c.createArrayOf("int8", box(from));
            ps.setArray(1, idArray);
            ps.setArray(2, fromArray);
            try (ResultSet rs = ps.executeQuery()) {
                for (int i = 0; rs.next(); i++) {
                    long t = rs.getLong(1);
                    newest[i] = rs.wasNull() ? NONE : t;
                }
            }
        }
        return newest;
    }

    private static Long[] box(long[] values) {
        Long[] boxed = new Long[values.length];
        for (int i = 0; i < values.length; i++) {
            boxed[i] = values[i];
        }
        return boxed;
    }
}
