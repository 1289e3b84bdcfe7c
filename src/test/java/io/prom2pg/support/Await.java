package io.prom2pg.support;

import java.time.Duration;

/** Waiting in tests for what a running prom2pg does on its own (timers, restarts, takeovers). */
public final class Await {

    /** A condition that may throw while it does not hold yet. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    private Await() {
    }

    /** Polls every 50 ms; fails naming what did not happen. Exceptions count as "not yet". */
    public static void until(Condition condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                if (condition.holds()) {
                    return;
                }
            } catch (Exception | AssertionError e) {
                // not there yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }
}
