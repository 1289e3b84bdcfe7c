package io.prom2pg.decode;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.prom2pg.failure.UnsupportedMediaTypeException;
import org.junit.jupiter.api.Test;

class ProtobufContentTypeTest {

    private final ProtobufContentType check = new ProtobufContentType();

    @Test
    void should_tell_which_message_a_request_carries() {
        check.setMessages("prometheus.WriteRequest,io.prometheus.write.v2.Request");
        assertEquals("prometheus.WriteRequest", check.check("application/x-protobuf", "snappy"));
        assertEquals("io.prometheus.write.v2.Request",
                check.check("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy"));
        assertThrows(UnsupportedMediaTypeException.class,
                () -> check.check("application/x-protobuf;proto=io.prometheus.write.v3.Request", "snappy"));
    }

    @Test
    void should_accept_what_prometheus_sends() {
        assertDoesNotThrow(() -> check.check("application/x-protobuf", "snappy"));
        assertDoesNotThrow(() -> check.check("Application/X-Protobuf; proto=prometheus.WriteRequest", "SNAPPY"));
        assertDoesNotThrow(() -> check.check("application/x-protobuf", null));
    }

    @Test
    void should_refuse_other_media_types_and_encodings() {
        assertThrows(UnsupportedMediaTypeException.class, () -> check.check(null, "snappy"));
        assertThrows(UnsupportedMediaTypeException.class, () -> check.check("text/plain", "snappy"));
        assertThrows(UnsupportedMediaTypeException.class, () -> check.check("application/x-protobuf-text", "snappy"));
        assertThrows(UnsupportedMediaTypeException.class,
                () -> check.check("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy"));
        assertThrows(UnsupportedMediaTypeException.class, () -> check.check("application/x-protobuf", "zstd"));
    }
}
