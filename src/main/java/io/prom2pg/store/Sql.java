package io.prom2pg.store;

import java.sql.SQLException;

/** Turns JDBC failures into one-line messages for logs and answers. */
public final class Sql {

    private Sql() {
    }

    public static String oneLine(Throwable e) {
        Throwable t = e;
        String message = null;
        while (t != null) {
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return firstLine(sql.getMessage()) + " (SQLSTATE " + sql.getSQLState() + ")";
            }
            t = t.getCause();
        }
        return message == null ? e.getClass().getSimpleName() : firstLine(message);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
