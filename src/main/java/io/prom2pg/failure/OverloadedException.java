package io.prom2pg.failure;

/** prom2pg has as much work in flight as it is allowed; the sender should retry later. */
public class OverloadedException extends RuntimeException {

    public OverloadedException(String reason) {
        super(reason, null, false, false);
    }
}
