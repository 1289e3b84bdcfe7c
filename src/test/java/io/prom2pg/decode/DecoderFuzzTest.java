package io.prom2pg.decode;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Arrays;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.failure.PayloadTooLargeException;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.read.SeriesMatch;
import io.prom2pg.series.LabelLimits;

/**
 * The decoders take anything a network can send: every input is either decoded or refused with
 * a reason the HTTP routes answer 4xx ({@link InvalidRequestException},
 * {@link PayloadTooLargeException}, {@link InvalidProtocolBufferException}). Any other exception,
 * a hang or running out of memory is a finding.
 * <p>
 * The first byte of an input picks the decoder: snappy, remote write 1.0, remote write 2.0 or
 * remote read; the rest is the body. Without {@code JAZZER_FUZZ} these tests replay the inputs
 * under {@code src/test/resources/io/prom2pg/decode/DecoderFuzzTestInputs/<method>/}, where the
 * fuzzer also puts every crashing input it finds, so a finding becomes a regression test.
 * {@code mvn verify} fuzzes {@link #fuzz_decoders} for a short while; README's "Fuzzing" section
 * gives the command for a long run of {@link #fuzz_decoders_for_an_hour}.
 */
class DecoderFuzzTest {

    static final int MAX_BODY = 1 << 20;

    @FuzzTest(maxDuration = "30s")
    void fuzz_decoders(byte[] input) {
        decodeAnything(input);
    }

    @FuzzTest(maxDuration = "1h")
    void fuzz_decoders_for_an_hour(byte[] input) {
        decodeAnything(input);
    }

    static void decodeAnything(byte[] input) {
        if (input.length == 0) {
            return;
        }
        byte[] body = Arrays.copyOfRange(input, 1, input.length);
        try {
            switch (input[0] & 3) {
                case 0 -> {
                    byte[] plain = SnappyDataFormat.decompress(body, MAX_BODY);
                    assertFalse(plain.length > MAX_BODY, "decompressed past the limit");
                }
                case 1 -> walk(RemoteWriteV1Reader.read(body));
                case 2 -> walk(RemoteWriteV2Reader.read(body));
                default -> {
                    ReadRequest request = ReadRequest.parseFrom(body);
                    for (Query query : request.getQueriesList()) {
                        SeriesMatch match = SeriesMatch.of(query.getMatchersList());
                        assertNotNull(match.where());
                    }
                }
            }
        } catch (InvalidRequestException | PayloadTooLargeException | InvalidProtocolBufferException refused) {
            assertNotNull(refused.getMessage(), "a refusal says why");
        }
    }

    /** Touches everything the write path reads from a decoded request, with the default label limits. */
    private static void walk(DecodedWrite write) {
        LabelLimits limits = new LabelLimits();
        limits.checkRequest(write);
        for (int i = 0; i < write.seriesCount(); i++) {
            Labels labels = write.labels(i);
            limits.checkSeries(labels);
            write.labelHash(i);
        }
        for (int j = 0; j < write.sampleCount(); j++) {
            int series = write.sampleSeries(j);
            if (series < 0 || series >= write.seriesCount()) {
                throw new AssertionError("sample " + j + " points at series " + series + " of " + write.seriesCount());
            }
            write.sampleTime(j);
            write.sampleValue(j);
        }
        for (int k = 0; k < write.startCount(); k++) {
            write.startSeries(k);
            write.startTime(k);
        }
        write.histograms().forEach(h -> assertNotNull(h));
        write.exemplars().forEach(e -> assertNotNull(e));
        write.metadata().forEach(m -> assertNotNull(m.getMetricFamilyName()));
    }
}
