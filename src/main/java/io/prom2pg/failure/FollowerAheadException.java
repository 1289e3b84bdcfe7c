package io.prom2pg.failure;

/**
 * A follower replica sent samples its leader's copy does not cover yet (within the follower wait):
 * answered 503, so that the follower retries and nothing it was told is stored depends on a
 * leader that may be gone.
 */
public class FollowerAheadException extends RuntimeException {

    public FollowerAheadException(String message) {
        super(message);
    }
}
