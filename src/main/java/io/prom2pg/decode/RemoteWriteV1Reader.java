package io.prom2pg.decode;

import java.io.IOException;

import com.dynatrace.hash4j.hashing.Hasher64;
import com.dynatrace.hash4j.hashing.Hashing;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteWriteV1.MetricMetadata;

/**
 * Reads a remote write 1.0 {@code WriteRequest} with protobuf-java's {@link CodedInputStream}
 * into a {@link DecodedWrite}, without building an object per series, label or sample: a series'
 * labels are hashed as the bytes they are on the wire, and decoded into strings only later, for
 * series that are not cached yet. Field numbers are those of {@code remote_write_v1.proto};
 * fields it does not know are skipped, as protobuf does.
 */
public final class RemoteWriteV1Reader {

    /** The series cache key: a 64-bit XXH3 of the label bytes as they are on the wire. */
    private static final Hasher64 WIRE_HASH = Hashing.xxh3_64(0);

    private RemoteWriteV1Reader() {
    }

    public static DecodedWrite read(byte[] body) {
        DecodedWrite write = new DecodedWrite(body);
        try {
            CodedInputStream in = CodedInputStream.newInstance(body);
            in.setSizeLimit(Integer.MAX_VALUE);
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                switch (WireFormat.getTagFieldNumber(tag)) {
                    // WriteRequest: repeated TimeSeries timeseries = 1;
                    case 1 -> {
                        checkLengthDelimited(tag);
                        int length = in.readRawVarint32();
                        int limit = in.pushLimit(length);
                        readTimeSeries(in, body, write);
                        in.popLimit(limit);
                    }
                    // WriteRequest: repeated MetricMetadata metadata = 3;
                    case 3 -> {
                        checkLengthDelimited(tag);
                        write.addMetadata(MetricMetadata.parseFrom(in.readBytes()));
                    }
                    default -> in.skipField(tag);
                }
            }
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidRequestException("body is not a remote write protobuf message: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidRequestException("body is not a remote write protobuf message: " + e.getMessage());
        }
        return write;
    }

    private static void readTimeSeries(CodedInputStream in, byte[] body, DecodedWrite write) throws IOException {
        int labelsStart = -1;
        int labelsEnd = -1;
        int[] ranges = null; // label field ranges, only when they are not contiguous
        int rangeCount = 0;
        int firstSample = write.sampleCount();
        int firstHistogram = write.histograms().size();
        int firstExemplar = write.exemplars().size();
        while (!in.isAtEnd()) {
            int position = in.getTotalBytesRead();
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 1) { // TimeSeries: repeated Label labels = 1;
                checkLengthDelimited(tag);
                in.skipRawBytes(in.readRawVarint32());
                int end = in.getTotalBytesRead();
                if (labelsStart < 0) {
                    labelsStart = position;
                } else if (ranges == null && labelsEnd != position) {
                    ranges = new int[16];
                    ranges[rangeCount++] = labelsStart;
                    ranges[rangeCount++] = labelsEnd;
                }
                if (ranges != null) {
                    if (rangeCount == ranges.length) {
                        ranges = java.util.Arrays.copyOf(ranges, rangeCount * 2);
                    }
                    ranges[rangeCount++] = position;
                    ranges[rangeCount++] = end;
                }
                labelsEnd = end;
            } else if (field == 2) { // TimeSeries: repeated Sample samples = 2;
                checkLengthDelimited(tag);
                int limit = in.pushLimit(in.readRawVarint32());
                long timestamp = 0;
                double value = 0;
                while (!in.isAtEnd()) {
                    int t = in.readTag();
                    switch (t) {
                        // Sample: double value = 1;
                        case (1 << 3) | WireFormat.WIRETYPE_FIXED64 -> value = in.readDouble();
                        // Sample: int64 timestamp = 2;
                        case (2 << 3) | WireFormat.WIRETYPE_VARINT -> timestamp = in.readInt64();
                        default -> in.skipField(t);
                    }
                }
                in.popLimit(limit);
                write.addSample(-1, timestamp, value);
            } else if (field == 3 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                // TimeSeries: repeated Exemplar exemplars = 3;
                int limit = in.pushLimit(in.readRawVarint32());
                write.addExemplar(readExemplar(in));
                in.popLimit(limit);
            } else if (field == 4 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                // TimeSeries: repeated io.prometheus.write.v2.Histogram histograms = 4;
                int limit = in.pushLimit(in.readRawVarint32());
                write.addHistogram(NativeHistogram.read(in, -1));
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
        if (write.sampleCount() == firstSample && write.histograms().size() == firstHistogram
                && write.exemplars().size() == firstExemplar) {
            return; // a series with nothing to store
        }
        byte[] labels = body;
        int offset = Math.max(labelsStart, 0);
        int length = Math.max(labelsEnd - labelsStart, 0);
        if (ranges != null) {
            // labels interleaved with other fields: hash and keep them as one contiguous copy
            int size = 0;
            for (int i = 0; i < rangeCount; i += 2) {
                size += ranges[i + 1] - ranges[i];
            }
            labels = new byte[size];
            int at = 0;
            for (int i = 0; i < rangeCount; i += 2) {
                System.arraycopy(body, ranges[i], labels, at, ranges[i + 1] - ranges[i]);
                at += ranges[i + 1] - ranges[i];
            }
            offset = 0;
            length = size;
        }
        long hash = WIRE_HASH.hashBytesToLong(labels, offset, length);
        int series = write.addSeries(hash, labels, offset, length);
        write.setSeries(firstSample, series);
        write.assignSeries(firstHistogram, firstExemplar, write.startCount(), series);
    }

    /** A remote write 1.0 Exemplar: labels as Label messages, value, timestamp. */
    private static Exemplar readExemplar(CodedInputStream in) throws IOException {
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.List<String> values = new java.util.ArrayList<>();
        double value = 0;
        long timestamp = 0;
        while (!in.isAtEnd()) {
            int t = in.readTag();
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> Labels.readLabel(in, names, values); // Exemplar: repeated Label labels = 1;
                case 2 -> value = in.readDouble(); // Exemplar: double value = 2;
                case 3 -> timestamp = in.readInt64(); // Exemplar: int64 timestamp = 3;
                default -> in.skipField(t);
            }
        }
        return new Exemplar(-1, timestamp, value, names.toArray(new String[0]), values.toArray(new String[0]));
    }

    private static void checkLengthDelimited(int tag) throws InvalidProtocolBufferException {
        if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            throw new InvalidProtocolBufferException("field " + WireFormat.getTagFieldNumber(tag) + " has the wrong wire type");
        }
    }
}
