package io.prom2pg.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * PostgreSQL's write-ahead log over a phase: bytes written, full-page images (a page's first
 * change after a checkpoint logs the whole page) and checkpoints. Read from {@code pg_stat_wal}
 * (PostgreSQL 14+) and {@code pg_stat_checkpointer} (17+) or {@code pg_stat_bgwriter} (before).
 */
record WalUsage(long bytes, long fullPageImages, long checkpoints) {

    static WalUsage now(String jdbcUrl) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl, "postgres", ""); Statement st = c.createStatement()) {
            long bytes;
            long fpi;
            try (ResultSet rs = st.executeQuery("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")) {
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
