package io.prom2pg.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

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

    /** The configured database, or null for the embedded server. */
    private DatabaseUrl url;
    private String user;
    private String password;
    private String embeddedDataDir = "data";
    private int embeddedPort;
    private Map<String, String> embeddedSettings = Map.of();
    private long lockTimeoutMs;
    private EmbeddedPostgresServer embedded;
    private EmbeddedSupervision supervision;
    private String location = "";

    private volatile boolean reachable;
    private volatile String lastPingError = "not checked yet";
    private volatile boolean pingFailing;

    /** A JDBC or libpq URL; one that is neither stops start-up here, when the bean is made. */
    public void setUrl(String url) {
        this.url = url == null || url.isBlank() ? null : DatabaseUrl.parse(url);
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
        this.embeddedSettings = EmbeddedPostgresServer.parseSettings(embeddedSettings); // checked when the bean is made
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
        if (url == null) {
            try {
                embedded = EmbeddedPostgresServer.start(Path.of(embeddedDataDir), embeddedPort, embeddedSettings);
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the embedded PostgreSQL in " + embeddedDataDir, e);
            }
            supervision = new EmbeddedSupervision(embedded);
            setJdbcUrl(embedded.jdbcUrl());
            setUsername("postgres");
            location = "localhost:" + embedded.port() + "/postgres";
        } else {
            setJdbcUrl(url.jdbcUrl());
            location = url.location();
            if (user != null && !user.isBlank()) {
                setUsername(user);
            } else if (url.user() != null) {
                setUsername(url.user());
            }
            if (password != null && !password.isEmpty()) {
                super.setPassword(password);
            } else if (url.password() != null) {
                super.setPassword(url.password());
            }
        }
        setPoolName("prom2pg");
        setConnectionInitSql("SET lock_timeout = " + Math.max(0, lockTimeoutMs));
        setInitializationFailTimeout(-1); // start even when the database is down
        LOG.info("Database: {}", describe());
    }

    /** Where the data is, for the log: the embedded server's directory and port, or host:port/database. */
    public String describe() {
        return embedded != null
                ? "embedded PostgreSQL on " + location + ", data in " + embedded.dataDirectory()
                : "PostgreSQL at " + location + (getUsername() == null ? "" : " as " + getUsername());
    }

    /**
     * A failure to reach the database as a person can act on it: where, PostgreSQL's own message
     * (not the pool's "Connection is not available"), and what usually causes it.
     */
    public String explain(Throwable e) {
        String message = Sql.oneLine(e);
        String hint = Sql.hint(e);
        return "database " + location + ": " + message + (hint == null ? "" : " - " + hint);
    }

    /**
     * Checks the database answers; the readiness check reads the result. An embedded server whose
     * postmaster died is started again first (with backoff, 1 s doubling to 30 s).
     */
    public boolean ping() {
        superviseEmbedded();
        try (Connection c = getConnection()) {
            if (!c.isValid(2)) {
                throw new SQLException("connection is not valid");
            }
            if (pingFailing) {
                LOG.info("Database reachable again: {}", describe());
            }
            pingFailing = false;
            reachable = true;
            lastPingError = null;
        } catch (SQLException | RuntimeException e) {
            reachable = false;
            lastPingError = explain(e);
            if (!pingFailing) {
                LOG.warn("Database not reachable: {}", lastPingError);
            }
            pingFailing = true;
        }
        return reachable;
    }

    private void superviseEmbedded() {
        EmbeddedSupervision watch = supervision;
        if (watch != null && !watch.check(() -> reachable = false, () -> {
            var pool = getHikariPoolMXBean();
            if (pool != null) {
                pool.softEvictConnections(); // the pool's connections were to the dead server
            }
        })) {
            reachable = false;
        }
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
            supervision = null;
        }
    }

}
