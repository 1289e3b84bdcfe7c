package io.prom2pg.failure;

/** No report (view) of that name. Answered 404. */
public class ReportNotFoundException extends RuntimeException {

    public ReportNotFoundException(String reason) {
        super(reason, null, false, false);
    }
}
