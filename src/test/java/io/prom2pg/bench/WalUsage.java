package io.prom2pg.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * PostgreSQL's write-ahead log over a phase: bytes written (from the WAL insert position, exact),
 * full-page images (a page's first change after a checkpoint logs the whole page; from
 * {@code pg_stat_wal}, PostgreSQL 14+) and checkpoints started ({@code pg_stat_checkpointer} on
 * 17+, {@code pg_stat_bgwriter} before). Sessions report their statistics at most once a second
 * and an idle one up to 10 s later, so up to about the last second of a phase's full-page images
 * can be counted in the next phase.
 */
record WalUsage(long bytes, long fullPageImages, long checkpoints) {

    static WalUsage now(String jdbcUrl) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl, "postgres", ""); Statement st = c.createStatement()) {
            long bytes;
            long fpi;
            try (ResultSet rs = st.executeQuery("SELECT CAST(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0') AS bigint),"
                    + " wal_fpi FROM pg_stat_wal")) {
                rs.next();
                bytes = rs.getLong(1);
                fpi = rs.getLong(2);
            }
            boolean checkpointer;
            try (ResultSet rs = st.executeQuery("SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL")) {
                rs.next();
                checkpointer = rs.getBoolean(1);
            }
            String checkpoints = checkpointer
                    ? "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
                    : "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter";
            try (ResultSet rs = st.executeQuery(checkpoints)) {
                rs.next();
                return new WalUsage(bytes, fpi, rs.getLong(1));
            }
        }
    }

    WalUsage since(WalUsage before) {
        return new WalUsage(bytes - before.bytes, fullPageImages - before.fullPageImages, checkpoints - before.checkpoints);
    }

    String line(long samples) {
        return String.format("WAL: %,.0f MiB (%,.0f bytes a sample), %,d full-page images, %d checkpoint(s) started",
                bytes / 1048576.0, samples == 0 ? 0.0 : (double) bytes / samples, fullPageImages, checkpoints);
    }
}
