package io.prom2pg.failure;

/** The request is not a message prom2pg can decode (Content-Type or Content-Encoding). Answered 415. */
public class UnsupportedMediaTypeException extends RuntimeException {

    public UnsupportedMediaTypeException(String reason) {
        super(reason);
    }
}
