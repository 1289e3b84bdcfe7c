package io.prom2pg.read;

import io.prom2pg.failure.InvalidRequestException;

/** A remote read answer would pass the configured sample limit. Answered 400 with the reason. */
public class ReadLimitException extends InvalidRequestException {

    public ReadLimitException(String reason) {
        super(reason);
    }
}
