package io.prom2pg.store;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.SQLException;

/** Turns JDBC failures into one-line messages for logs and answers, and runs work in a transaction. */
public final class Sql {

    private Sql() {
    }

    /**
     * The innermost SQL error with a SQLSTATE (PostgreSQL's own message, not the pool's "Connection
     * is not available" around it), else the innermost message.
     */
    public static String oneLine(Throwable e) {
        String message = null;
        SQLException innermost = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                innermost = sql;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        if (innermost != null) {
            return firstLine(innermost.getMessage()) + " (SQLSTATE " + innermost.getSQLState() + ")";
        }
        return message == null ? e.getClass().getSimpleName() : firstLine(message);
    }

    /**
     * Whether trying again later can succeed: the server unreachable, starting, stopping or out of
     * connections or resources, a lock or serialization conflict, a network error. Not: a wrong
     * password or database, a missing privilege, a syntax error, an internal error (a FATAL such as
     * an extension that must be preloaded), or a failure that is no SQL error at all (a migration
     * whose checksum changed, say).
     */
    public static boolean isTransient(Throwable e) {
        String state = state(e);
        boolean io = false;
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            // the pool's own timeout (no SQLSTATE when it comes before the driver's) and the driver's retryable errors
            io |= t instanceof java.io.IOException || t instanceof java.sql.SQLTransientException
                    || t instanceof java.sql.SQLRecoverableException;
        }
        if (state == null) {
            return io;
        }
        return state.startsWith("08") || state.startsWith("53") || state.startsWith("58")
                || state.equals("57P01") || state.equals("57P02") || state.equals("57P03") || state.equals("57014")
                || state.equals("40001") || state.equals("40P01") || state.equals("55P03");
    }

    /** What usually causes a connection failure and which setting to look at, or null. */
    public static String hint(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof UnknownHostException) {
                return "the host name does not resolve: check the host in prom2pg.db.url (PROM2PG_DB_URL)";
            }
            if (t instanceof ConnectException) {
                return "nothing accepts connections there: is PostgreSQL running, and are the host and port in"
                        + " prom2pg.db.url (PROM2PG_DB_URL) right?";
            }
        }
        String state = state(e);
        if (state == null) {
            return null;
        }
        return switch (state) {
            case "28P01" -> "wrong password: check prom2pg.db.user and prom2pg.db.password (PROM2PG_DB_USER,"
                    + " PROM2PG_DB_PASSWORD) or the password in the URL";
            case "28000" -> "the server refuses this user: the role does not exist, or no pg_hba.conf line allows"
                    + " this user, database and client address";
            case "3D000" -> "the database in prom2pg.db.url (PROM2PG_DB_URL) does not exist: create it or fix the URL";
            case "42501" -> "the user lacks a privilege prom2pg needs (it creates its schema and tables)";
            case "53300" -> "the server has no connection slot left (max_connections): lower prom2pg.db.pool-size"
                    + " or raise max_connections";
            case "57P03" -> "the server is starting up or shutting down";
            default -> state.startsWith("08") ? "the connection failed: is PostgreSQL running, and are the host and port"
                    + " in prom2pg.db.url (PROM2PG_DB_URL) right?" : null;
        };
    }

    /** The SQLSTATE of the innermost SQL error that has one (PostgreSQL's, under the pool's), or null. */
    public static String state(Throwable e) {
        String state = null;
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                state = sql.getSQLState();
            }
        }
        return state;
    }

    public static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Statements on a connection. */
    public interface Work<T> {
        T run() throws SQLException;
    }

    /**
     * Runs {@code work} in a transaction of {@code c}, committed when it returns and rolled back
     * when it throws; in the caller's own when {@code c} is in one already.
     */
    public static <T> T inTransaction(Connection c, Work<T> work) throws SQLException {
        return inTransaction(c, Connection.TRANSACTION_READ_COMMITTED, work);
    }

    /**
     * The same, the transaction at {@code isolation} when it is made here (REPEATABLE READ: every
     * statement of {@code work} reads one snapshot).
     */
    public static <T> T inTransaction(Connection c, int isolation, Work<T> work) throws SQLException {
        if (!c.getAutoCommit()) {
            return work.run();
        }
        int before = c.getTransactionIsolation();
        c.setTransactionIsolation(isolation);
        c.setAutoCommit(false);
        try {
            T result = work.run();
            c.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
            c.setTransactionIsolation(before);
        }
    }
}
