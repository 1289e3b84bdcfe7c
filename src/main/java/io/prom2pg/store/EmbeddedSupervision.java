package io.prom2pg.store;

import java.io.IOException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded PostgreSQL running: when its postmaster has died (killed, out of memory),
 * {@link #check} starts it again, then retries with a backoff of 1 s doubling to 30 s while it
 * does not come up.
 */
final class EmbeddedSupervision {

    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    private final EmbeddedPostgresServer server;
    private long backoffMillis = 1000;
    private long nextRestart;

    EmbeddedSupervision(EmbeddedPostgresServer server) {
        this.server = server;
    }

    /**
     * Returns true when the server runs (or was started again just now: {@code restarted} then runs,
     * so that connections to the dead server are dropped); false while it is down. {@code down} runs
     * as soon as the server is found dead, before the restart: a restart takes a second or more
     * (crash recovery), and readiness must not report the last ping's success meanwhile.
     */
    synchronized boolean check(Runnable down, Runnable restarted) {
        if (server.isAlive()) {
            return true;
        }
        down.run();
        if (System.currentTimeMillis() < nextRestart) {
            return false;
        }
        LOG.warn("Embedded PostgreSQL (pid {}) is not running: starting it again", server.postmasterPid());
        try {
            server.restartIfDead();
            backoffMillis = 1000;
            nextRestart = 0;
            restarted.run();
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("Embedded PostgreSQL did not start again, next try in {} ms: {}", backoffMillis, Sql.oneLine(e));
            nextRestart = System.currentTimeMillis() + backoffMillis;
            backoffMillis = Math.min(30_000, backoffMillis * 2);
            return false;
        }
    }
}
