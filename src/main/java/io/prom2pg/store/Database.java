package io.prom2pg.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarting;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection pool to prom2pg's PostgreSQL. With a JDBC URL it connects there; without one
 * it starts an {@link EmbeddedPostgresServer} first. The pool starts without waiting for the
 * database: a database that is not up yet is retried, and requests meanwhile answer 503.
 */
public class Database extends HikariDataSource implements OnCamelContextStarting {

    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    private String url;
    private String user;
    private String password;
    private String embeddedDataDir = "data";
    private int embeddedPort;
    private String embeddedSettings = "";
    private long lockTimeoutMs;
    private EmbeddedPostgresServer embedded;

    private volatile boolean reachable;
    private volatile String lastPingError = "not checked yet";
    private volatile boolean pingFailing;

    public void setUrl(String url) {
        this.url = url;
    }

    public void setUser(String user) {
        this.user = user;
    }

    @Override
    public void setPassword(String password) {
        this.password = password;
    }

    public void setEmbeddedDataDir(String embeddedDataDir) {
        this.embeddedDataDir = embeddedDataDir;
    }

    public void setEmbeddedPort(int embeddedPort) {
        this.embeddedPort = embeddedPort;
    }

    /** Server settings of the embedded PostgreSQL, {@code name=value,...} (e.g. {@code shared_buffers=1GB}). */
    public void setEmbeddedSettings(String embeddedSettings) {
        this.embeddedSettings = embeddedSettings;
    }

    /**
     * How long a statement may wait for a lock (PostgreSQL's {@code lock_timeout}; 0 waits for
     * ever). A table locked by another session then fails the request into a 503 instead of
     * holding it, and its connection, until the lock goes.
     */
    public void setLockTimeoutMs(long lockTimeoutMs) {
        this.lockTimeoutMs = lockTimeoutMs;
    }

    @Override
    public void onContextStarting(CamelContext context) {
        start();
    }

    /**
     * Starts the embedded server if no URL is configured, then configures the pool. Runs when
     * the Camel context starts, not when the bean is declared (route files may be parsed twice).
     */
    public synchronized void start() {
        if (getJdbcUrl() != null) {
            return;
        }
        if (url == null || url.isBlank()) {
            try {
                embedded = EmbeddedPostgresServer.start(Path.of(embeddedDataDir), embeddedPort,
                        EmbeddedPostgresServer.parseSettings(embeddedSettings));
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the embedded PostgreSQL in " + embeddedDataDir, e);
            }
            setJdbcUrl(embedded.jdbcUrl());
            setUsername("postgres");
        } else {
            setJdbcUrl(url);
            if (user != null && !user.isBlank()) {
                setUsername(user);
            }
            if (password != null && !password.isEmpty()) {
                super.setPassword(password);
            }
        }
        setPoolName("prom2pg");
        setConnectionInitSql("SET lock_timeout = " + Math.max(0, lockTimeoutMs));
        setInitializationFailTimeout(-1); // start even when the database is down
        LOG.info("Database: {}", embedded != null ? "embedded PostgreSQL, data in " + embedded.dataDirectory()
                : redact(url));
    }

    /** Checks the database answers; the readiness check reads the result. */
    public boolean ping() {
        try (Connection c = getConnection()) {
            if (!c.isValid(2)) {
                throw new SQLException("connection is not valid");
            }
            if (pingFailing) {
                LOG.info("Database reachable again");
            }
            pingFailing = false;
            reachable = true;
            lastPingError = null;
        } catch (SQLException | RuntimeException e) {
            reachable = false;
            lastPingError = Sql.oneLine(e);
            if (!pingFailing) {
                LOG.warn("Database not reachable: {}", lastPingError);
            }
            pingFailing = true;
        }
        return reachable;
    }

    public boolean isReachable() {
        return reachable;
    }

    public String lastPingError() {
        return lastPingError;
    }

    /** The embedded server, or null when an external database is configured. */
    public EmbeddedPostgresServer embedded() {
        return embedded;
    }

    @Override
    public void close() {
        super.close();
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                LOG.warn("Stopping the embedded PostgreSQL failed: {}", e.getMessage());
            }
            embedded = null;
        }
    }

    private static String redact(String jdbcUrl) {
        return jdbcUrl.replaceAll("(?i)(password=)[^&]*", "$1***");
    }
}
