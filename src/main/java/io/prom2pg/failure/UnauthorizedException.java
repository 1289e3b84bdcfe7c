package io.prom2pg.failure;

/** Credentials missing or wrong. Answered 401 with WWW-Authenticate; the message never holds a secret. */
public class UnauthorizedException extends RuntimeException {

    public UnauthorizedException(String reason) {
        super(reason, null, false, false);
    }
}
