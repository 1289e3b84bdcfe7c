package io.prom2pg.console;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;

/**
 * How the console reads the database: in a read-only transaction bounded by
 * {@code prom2pg.console.statement-timeout-ms}, at most {@code prom2pg.console.max-queries} at
 * once, so that pages opened on a large store never hold more of the pool, nor for longer, than
 * that: the write path keeps the rest.
 */
public class ConsoleDb {

    /** Work on a connection whose transaction is read-only and time-bounded. */
    @FunctionalInterface
    public interface Reading<T> {
        T read(Connection c, String schema) throws SQLException;
    }

    private static final String QUERY_CANCELED = "57014";

    private DataSource dataSource;
    private String schema = "prom2pg";
    private long statementTimeoutMillis = 10_000;
    private java.util.concurrent.Semaphore queries = new java.util.concurrent.Semaphore(2);

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setStatementTimeoutMillis(long statementTimeoutMillis) {
        this.statementTimeoutMillis = statementTimeoutMillis;
    }

    public void setMaxQueries(int maxQueries) {
        this.queries = new java.util.concurrent.Semaphore(maxQueries);
    }

    public <T> T read(String what, Reading<T> reading) {
        java.util.concurrent.Semaphore permits = queries;
        try {
            if (!permits.tryAcquire(1, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new StorageUnavailableException(what + ": the console runs prom2pg.console.max-queries queries already; try again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageUnavailableException(what + " interrupted", e);
        }
        try {
            return readOnConnection(what, reading);
        } finally {
            permits.release();
        }
    }

    private <T> T readOnConnection(String what, Reading<T> reading) {
        try (Connection c = dataSource.getConnection()) {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                try (Statement s = c.createStatement()) {
                    // one snapshot for all of a reading's statements (remote read's two tiers among them)
                    s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                    s.execute("SET LOCAL statement_timeout = " + statementTimeoutMillis);
                }
                T result = reading.read(c, schema);
                c.rollback();
                c.setAutoCommit(autoCommit);
                return result;
            } catch (SQLException | RuntimeException e) {
                // the rollback of a broken connection must not hide why it broke
                try {
                    c.rollback();
                    c.setAutoCommit(autoCommit);
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        } catch (SQLException e) {
            if (QUERY_CANCELED.equals(e.getSQLState())) {
                // without the SQL cause, so that the answer names the setting rather than PostgreSQL's words
                throw new StorageUnavailableException(what + " took longer than prom2pg.console.statement-timeout-ms ("
                        + statementTimeoutMillis + " ms)");
            }
            throw new StorageUnavailableException(what + " failed: " + Sql.oneLine(e), e);
        }
    }
}
