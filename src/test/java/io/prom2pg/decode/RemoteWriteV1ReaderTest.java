package io.prom2pg.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;

import com.google.protobuf.CodedOutputStream;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import org.junit.jupiter.api.Test;

class RemoteWriteV1ReaderTest {

    @Test
    void should_read_what_the_generated_protobuf_classes_read_from_prometheus_bodies() {
        for (String fixture : new String[] {"rw_001.snappy.pb", "rw_002.snappy.pb", "rw_003.snappy.pb", "rw_metadata_448.snappy.pb"}) {
            byte[] body = SnappyDataFormat.decompress(RemoteWrite.fixture(fixture), Integer.MAX_VALUE);
            WriteRequest expected = RemoteWrite.decodeFixture(fixture);
            DecodedWrite read = RemoteWriteV1Reader.read(body);

            int j = 0;
            int series = 0;
            for (TimeSeries ts : expected.getTimeseriesList()) {
                if (ts.getSamplesCount() == 0) {
                    continue;
                }
                Labels labels = read.labels(series);
                assertEquals(ts.getLabelsCount(), labels.names().length);
                for (int k = 0; k < ts.getLabelsCount(); k++) {
                    assertEquals(ts.getLabels(k).getName(), labels.names()[k]);
                    assertEquals(ts.getLabels(k).getValue(), labels.values()[k]);
                }
                for (var sample : ts.getSamplesList()) {
                    assertEquals(series, read.sampleSeries(j));
                    assertEquals(sample.getTimestamp(), read.sampleTime(j));
                    assertEquals(Double.doubleToRawLongBits(sample.getValue()), Double.doubleToRawLongBits(read.sampleValue(j)));
                    j++;
                }
                series++;
            }
            assertEquals(series, read.seriesCount(), fixture);
            assertEquals(j, read.sampleCount(), fixture);
            assertEquals(expected.getMetadataList(), read.metadata(), fixture);
        }
    }

    @Test
    void should_hash_equal_label_bytes_equally_and_different_labels_differently() {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(RemoteWrite.series("__name__", "up", "job", "a").addSamples(RemoteWrite.sample(1, 1)))
                .addTimeseries(RemoteWrite.series("__name__", "up", "job", "a").addSamples(RemoteWrite.sample(2, 1)))
                .addTimeseries(RemoteWrite.series("__name__", "up", "job", "b").addSamples(RemoteWrite.sample(1, 1)))
                .build();
        DecodedWrite read = RemoteWriteV1Reader.read(request.toByteArray());
        assertEquals(read.labelHash(0), read.labelHash(1));
        assertNotEquals(read.labelHash(0), read.labelHash(2));
    }

    @Test
    void should_read_labels_interleaved_with_samples_and_skip_unknown_fields() throws Exception {
        // TimeSeries: label, sample, unknown field 9, label - valid protobuf, unusual order
        ByteArrayOutputStream ts = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(ts);
        out.writeMessage(1, Label.newBuilder().setName("__name__").setValue("up").build());
        out.writeMessage(2, RemoteWrite.sample(1000, 2.5));
        out.writeString(9, "ignored");
        out.writeMessage(1, Label.newBuilder().setName("job").setValue("x").build());
        out.flush();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        CodedOutputStream req = CodedOutputStream.newInstance(body);
        req.writeByteArray(1, ts.toByteArray());
        req.writeString(7, "unknown top-level field");
        req.flush();

        DecodedWrite read = RemoteWriteV1Reader.read(body.toByteArray());
        assertEquals(1, read.seriesCount());
        assertArrayEquals(new String[] {"__name__", "job"}, read.labels(0).names());
        assertArrayEquals(new String[] {"up", "x"}, read.labels(0).values());
        assertEquals(1000, read.sampleTime(0));
        assertEquals(2.5, read.sampleValue(0));
    }

    @Test
    void should_skip_series_without_samples() {
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(RemoteWrite.series("__name__", "no_samples"))
                .addTimeseries(RemoteWrite.series("__name__", "up").addSamples(RemoteWrite.sample(1, 1)))
                .build();
        DecodedWrite read = RemoteWriteV1Reader.read(request.toByteArray());
        assertEquals(1, read.seriesCount());
        assertEquals("up", read.labels(0).values()[0]);
    }

    @Test
    void should_reject_truncated_and_invalid_messages() {
        byte[] valid = WriteRequest.newBuilder()
                .addTimeseries(RemoteWrite.series("__name__", "up").addSamples(RemoteWrite.sample(1, 1))).build().toByteArray();
        byte[] truncated = java.util.Arrays.copyOf(valid, valid.length - 3);
        assertThrows(InvalidRequestException.class, () -> RemoteWriteV1Reader.read(truncated));
        assertThrows(InvalidRequestException.class, () -> RemoteWriteV1Reader.read(new byte[] {0x0a, (byte) 0xff}));
        // a label value that is not UTF-8, found when the series is decoded
        byte[] badUtf8 = {0x0a, 0x0e, 0x0a, 0x08, 0x0a, 0x01, 'a', 0x12, 0x03, (byte) 0xc3, 0x28, 'x', 0x12, 0x02, 0x10, 0x01};
        DecodedWrite read = RemoteWriteV1Reader.read(badUtf8);
        assertThrows(InvalidRequestException.class, () -> read.labels(0));
    }
}
