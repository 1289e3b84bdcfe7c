package io.prom2pg.series;

import io.prom2pg.failure.InvalidRequestException;

/** A request would create more series than the configured limits allow. Answered 400. */
public class CardinalityLimitException extends InvalidRequestException {

    public CardinalityLimitException(String reason) {
        super(reason);
    }
}
