package io.prom2pg.http;

import java.sql.SQLException;

import io.prom2pg.store.Sql;
import org.apache.camel.CamelExchangeException;
import org.apache.camel.RuntimeCamelException;

/**
 * The reason a refused request is given, and logged, in one line a person can act on: the failure
 * itself, not the wrappers Camel puts around it ("Multicast processing failed for number 0.
 * Exchange[…]. Caused by: …"), and PostgreSQL's own message with its SQLSTATE for storage errors.
 */
public class ErrorReasons {

    /** The one-line reason of an exception a route caught. */
    public String reason(Throwable caught) {
        Throwable e = unwrap(caught);
        if (e == null) {
            return "unknown error";
        }
        if (isSql(e)) {
            String line = Sql.oneLine(e);
            return "53100".equals(Sql.state(e)) ? "database disk full: " + line : line;
        }
        return e.getMessage() != null ? Sql.firstLine(e.getMessage()) : e.getClass().getSimpleName();
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CamelExchangeException || t instanceof RuntimeCamelException
                || t instanceof java.lang.reflect.InvocationTargetException) && t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    private static boolean isSql(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof SQLException) {
                return true;
            }
        }
        return e.getClass().getName().startsWith("org.springframework.dao.");
    }
}
