package io.prom2pg.ha;

/**
 * A follower replica sent samples newer than its leader has stored: answered 503, so that the
 * follower retries and nothing it was told is stored depends on a leader that may be gone.
 */
public class FollowerAheadException extends RuntimeException {

    public FollowerAheadException(String message) {
        super(message);
    }
}
