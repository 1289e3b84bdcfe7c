package io.prom2pg.failure;

/**
 * PostgreSQL cannot take the write right now (not reachable, schema not ready, pool exhausted,
 * statement failed). Answered 503 so that the sender keeps its copy and retries.
 */
public class StorageUnavailableException extends RuntimeException {

    public StorageUnavailableException(String reason) {
        super(reason);
    }

    public StorageUnavailableException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
