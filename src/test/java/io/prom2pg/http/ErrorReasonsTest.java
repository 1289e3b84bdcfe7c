package io.prom2pg.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.SQLException;

import org.apache.camel.CamelExchangeException;
import org.apache.camel.RuntimeCamelException;
import org.junit.jupiter.api.Test;

/** The reasons answers carry: the failure itself, without Camel's wrappers. */
class ErrorReasonsTest {

    private final ErrorReasons reasons = new ErrorReasons();

    @Test
    void should_quote_postgresql_under_camels_multicast_wrapper() {
        SQLException full = new SQLException("ERROR: could not extend file \"base/5/16384\": No space left on device\n  Hint: Check free disk space.", "53100");
        Exception wrapped = new CamelExchangeException("Multicast processing failed for number 0", null,
                new RuntimeCamelException(full));
        assertEquals("database disk full: ERROR: could not extend file \"base/5/16384\": No space left on device (SQLSTATE 53100)",
                reasons.reason(wrapped));
    }

    @Test
    void should_give_the_first_line_of_any_other_failure() {
        assertEquals("overloaded: 16 requests in flight", reasons.reason(
                new RuntimeCamelException(new IllegalStateException("overloaded: 16 requests in flight\nmore"))));
        assertEquals("NullPointerException", reasons.reason(new NullPointerException()));
        assertEquals("unknown error", reasons.reason(null));
    }
}
