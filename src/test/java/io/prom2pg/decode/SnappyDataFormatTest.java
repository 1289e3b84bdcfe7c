package io.prom2pg.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.failure.PayloadTooLargeException;
import org.junit.jupiter.api.Test;

class SnappyDataFormatTest {

    @Test
    void should_round_trip_the_snappy_block_format() {
        byte[] data = "prom2pg prom2pg prom2pg stores samples".repeat(100).getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(data, SnappyDataFormat.decompress(SnappyDataFormat.compress(data), 1 << 20));
    }

    @Test
    void should_refuse_a_declared_length_over_the_limit_before_allocating() {
        byte[] compressed = SnappyDataFormat.compress(new byte[4096]);
        assertThrows(PayloadTooLargeException.class, () -> SnappyDataFormat.decompress(compressed, 4095));
    }

    @Test
    void should_reject_truncated_and_malformed_input_as_a_bad_request() {
        byte[] compressed = SnappyDataFormat.compress("some text that is long enough to be compressed, some text".getBytes());
        byte[] truncated = java.util.Arrays.copyOf(compressed, compressed.length / 2);
        assertThrows(InvalidRequestException.class, () -> SnappyDataFormat.decompress(truncated, 1 << 20));
        assertThrows(InvalidRequestException.class, () -> SnappyDataFormat.decompress(new byte[] {(byte) 0xff}, 1 << 20));
        assertThrows(InvalidRequestException.class, () -> SnappyDataFormat.decompress(new byte[0], 1 << 20));
        // the framed format (what snappy command line tools write) is not the block format
        byte[] framed = {(byte) 0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'};
        assertThrows(InvalidRequestException.class, () -> SnappyDataFormat.decompress(framed, 1 << 20));
    }
}
