package io.prom2pg.store;

/**
 * A chunk could not be copied because some of its samples are already stored (a retried
 * request). Nothing of the chunk was written; the route stores it again with
 * {@code INSERT ... ON CONFLICT DO NOTHING}, which skips the duplicates.
 */
public class DuplicateSamplesException extends RuntimeException {

    public DuplicateSamplesException(String message) {
        super(message, null, false, false);
    }
}
