package io.prom2pg.failure;

/**
 * The request can never be stored as sent: undecodable, or breaking the remote write contract.
 * Answered 400 with the message as the one-line reason; the sender drops it for good.
 */
public class InvalidRequestException extends RuntimeException {

    public InvalidRequestException(String reason) {
        super(reason);
    }

    public InvalidRequestException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
