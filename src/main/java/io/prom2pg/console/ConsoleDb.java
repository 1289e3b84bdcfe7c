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
 * {@code prom2pg.console.statement-timeout-ms}, so that a page opened on a large store can never
 * hold a connection the write path needs for longer than that.
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

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setStatementTimeoutMillis(long statementTimeoutMillis) {
        this.statementTimeoutMillis = statementTimeoutMillis;
    }

    public <T> T read(String what, Reading<T> reading) {
        try (Connection c = dataSource.getConnection()) {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                try (Statement s = c.createStatement()) {
                    s.execute("SET TRANSACTION READ ONLY");
                    s.execute("SET LOCAL statement_timeout = " + statementTimeoutMillis);
                }
                return reading.read(c, schema);
            } finally {
                c.rollback();
                c.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            if (QUERY_CANCELED.equals(e.getSQLState())) {
                throw new StorageUnavailableException(what + " took longer than prom2pg.console.statement-timeout-ms ("
                        + statementTimeoutMillis + " ms)", e);
            }
            throw new StorageUnavailableException(what + " failed: " + Sql.oneLine(e), e);
        }
    }
}
