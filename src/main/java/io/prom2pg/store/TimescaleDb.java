package io.prom2pg.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The timescaledb extension, where a schema's samples are a hypertable. */
public final class TimescaleDb {

    private TimescaleDb() {
    }

    /** The schema the extension was created in, quoted: its functions need not be on prom2pg's search path. */
    public static String schema(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n"
                     + " ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'")) {
            if (!rs.next()) {
                throw new SQLException("samples is not partitioned by day, and there is no timescaledb extension");
            }
            return rs.getString(1);
        }
    }

    /** Whether this TimescaleDB compresses chunks (its Apache-licensed edition does not). */
    public static boolean compresses(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT coalesce(current_setting('timescaledb.license', true), 'timescale') <> 'apache'")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
