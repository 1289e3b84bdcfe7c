package io.prom2pg.failure;

/** The body, once decompressed, is larger than prom2pg is configured to accept. Answered 413. */
public class PayloadTooLargeException extends RuntimeException {

    public PayloadTooLargeException(String reason) {
        super(reason);
    }
}
