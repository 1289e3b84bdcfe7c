package io.prom2pg.failure;

/** No report (view) or console page of that name. Answered 404. */
public class NotFoundException extends RuntimeException {

    public NotFoundException(String reason) {
        super(reason, null, false, false);
    }
}
