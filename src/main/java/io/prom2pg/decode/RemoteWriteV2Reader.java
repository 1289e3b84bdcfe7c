package io.prom2pg.decode;

import java.io.IOException;
import java.util.Arrays;

import com.dynatrace.hash4j.hashing.Hasher64;
import com.dynatrace.hash4j.hashing.Hashing;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteWriteV1.MetricMetadata;

/**
 * Reads a remote write 2.0 {@code io.prometheus.write.v2.Request} into the same
 * {@link DecodedWrite} as remote write 1.0: symbols stay byte ranges of the body, a series' labels
 * are hashed from the bytes of the symbols they reference (references are per request, the
 * strings are not), and samples go into column arrays. Per-series metadata becomes metric
 * metadata named after the series' {@code __name__}; native histograms, exemplars and start
 * (created) timestamps are kept for their own tables.
 * Field numbers are those of {@code remote_write_v2.proto}.
 */
public final class RemoteWriteV2Reader {

    /** The series cache key: a 64-bit XXH3 of the bytes of the symbols a series' labels reference. */
    private static final Hasher64 WIRE_HASH = Hashing.xxh3_64(2);

    private static final byte SEPARATOR = (byte) 0xff;
    private static final byte[] NAME = "__name__".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private RemoteWriteV2Reader() {
    }

    public static DecodedWrite read(byte[] body) {
        DecodedWrite write = new DecodedWrite(body);
        try {
            // first pass: the symbol table, wherever it is in the message
            int[] offsets = new int[256];
            int[] lengths = new int[256];
            int symbols = 0;
            CodedInputStream in = CodedInputStream.newInstance(body);
            in.setSizeLimit(Integer.MAX_VALUE);
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                if (tag == ((4 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED)) { // Request: repeated string symbols = 4;
                    int length = in.readRawVarint32();
                    if (symbols == offsets.length) {
                        offsets = Arrays.copyOf(offsets, symbols * 2);
                        lengths = Arrays.copyOf(lengths, symbols * 2);
                    }
                    offsets[symbols] = in.getTotalBytesRead();
                    lengths[symbols] = length;
                    symbols++;
                    in.skipRawBytes(length);
                } else {
                    in.skipField(tag);
                }
            }
            if (symbols > 0 && lengths[0] != 0) {
                throw new InvalidRequestException("symbols[0] must be the empty string");
            }
            offsets = Arrays.copyOf(offsets, symbols);
            lengths = Arrays.copyOf(lengths, symbols);
            // second pass: the series
            Refs refs = new Refs();
            byte[] scratch = new byte[512];
            in = CodedInputStream.newInstance(body);
            in.setSizeLimit(Integer.MAX_VALUE);
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                if (tag == ((5 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED)) { // Request: repeated TimeSeries timeseries = 5;
                    int limit = in.pushLimit(in.readRawVarint32());
                    scratch = readTimeSeries(in, body, offsets, lengths, refs, write, scratch);
                    in.popLimit(limit);
                } else {
                    in.skipField(tag);
                }
            }
            write.useSymbols(offsets, lengths, refs.values);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidRequestException("body is not a remote write 2.0 protobuf message: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidRequestException("body is not a remote write 2.0 protobuf message: " + e.getMessage());
        }
        return write;
    }

    /** A growable int array of label references shared by all series of a request. */
    private static final class Refs {
        int[] values = new int[1024];
        int size;

        void add(int v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }
    }

    private static byte[] readTimeSeries(CodedInputStream in, byte[] body, int[] offsets, int[] lengths, Refs refs,
                                         DecodedWrite write, byte[] scratch) throws IOException {
        java.util.List<Exemplar> pendingExemplars = new java.util.ArrayList<>(0);
        int firstRef = refs.size;
        int firstSample = write.sampleCount();
        int firstHistogram = write.histograms().size();
        int firstExemplar = write.exemplars().size();
        int firstStart = write.startCount();
        long createdTimestamp = 0;
        int metricType = 0;
        int helpRef = 0;
        int unitRef = 0;
        boolean hasMetadata = false;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> readRefs(in, tag, refs); // TimeSeries: repeated uint32 labels_refs = 1;
                case 2 -> { // TimeSeries: repeated Sample samples = 2;
                    int limit = in.pushLimit(in.readRawVarint32());
                    long timestamp = 0;
                    double value = 0;
                    long start = 0;
                    while (!in.isAtEnd()) {
                        int t = in.readTag();
                        switch (t) {
                            case (1 << 3) | WireFormat.WIRETYPE_FIXED64 -> value = in.readDouble(); // Sample: double value = 1;
                            case (2 << 3) | WireFormat.WIRETYPE_VARINT -> timestamp = in.readInt64(); // Sample: int64 timestamp = 2;
                            case (3 << 3) | WireFormat.WIRETYPE_VARINT -> start = in.readInt64(); // Sample: int64 start_timestamp = 3;
                            default -> in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                    write.addSample(-1, timestamp, value);
                    if (start != 0) {
                        write.addStart(-1, start);
                    }
                }
                case 3 -> { // TimeSeries: repeated Histogram histograms = 3;
                    int limit = in.pushLimit(in.readRawVarint32());
                    write.addHistogram(NativeHistogram.read(in, -1));
                    in.popLimit(limit);
                }
                case 4 -> { // TimeSeries: repeated Exemplar exemplars = 4;
                    int limit = in.pushLimit(in.readRawVarint32());
                    pendingExemplars.add(readExemplar(in, body, offsets, lengths));
                    in.popLimit(limit);
                }
                case 6 -> createdTimestamp = in.readInt64(); // TimeSeries: int64 created_timestamp = 6;
                case 5 -> { // TimeSeries: Metadata metadata = 5;
                    int limit = in.pushLimit(in.readRawVarint32());
                    while (!in.isAtEnd()) {
                        int t = in.readTag();
                        switch (WireFormat.getTagFieldNumber(t)) {
                            case 1 -> metricType = in.readEnum(); // Metadata: MetricType type = 1;
                            case 3 -> helpRef = in.readRawVarint32(); // Metadata: uint32 help_ref = 3;
                            case 4 -> unitRef = in.readRawVarint32(); // Metadata: uint32 unit_ref = 4;
                            default -> in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                    hasMetadata = true;
                }
                default -> in.skipField(tag);
            }
        }
        int count = refs.size - firstRef;
        if (count % 2 != 0) {
            throw new InvalidRequestException("labels_refs of a series has an odd length (" + count + ")");
        }
        // the series' identity: the bytes of the symbols it references, as name, 0xff, value, 0xff...
        int size = 0;
        int nameRef = -1;
        for (int k = firstRef; k < refs.size; k++) {
            int ref = refs.values[k];
            if (ref < 0 || ref >= offsets.length) {
                throw new InvalidRequestException("symbol reference " + (ref & 0xffffffffL) + " is outside the symbols table of "
                        + offsets.length);
            }
            size += lengths[ref] + 1;
            if ((k - firstRef) % 2 == 0 && Arrays.equals(body, offsets[ref], offsets[ref] + lengths[ref], NAME, 0, NAME.length)) {
                nameRef = refs.values[k + 1];
            }
        }
        if (hasMetadata && nameRef > 0 && (metricType != 0 || helpRef != 0 || unitRef != 0)) {
            write.addMetadata(MetricMetadata.newBuilder()
                    .setMetricFamilyName(Labels.symbol(body, offsets, lengths, nameRef))
                    .setTypeValue(metricType)
                    .setHelp(Labels.symbol(body, offsets, lengths, helpRef))
                    .setUnit(Labels.symbol(body, offsets, lengths, unitRef))
                    .build());
        }
        if (write.sampleCount() == firstSample && write.histograms().size() == firstHistogram) {
            refs.size = firstRef; // no samples: nothing to store for this series
            return scratch;
        }
        for (Exemplar e : pendingExemplars) {
            write.addExemplar(e);
        }
        if (createdTimestamp != 0) {
            write.addStart(-1, createdTimestamp);
        }
        if (scratch.length < size) {
            scratch = new byte[Math.max(size, scratch.length * 2)];
        }
        int at = 0;
        for (int k = firstRef; k < refs.size; k++) {
            int ref = refs.values[k];
            System.arraycopy(body, offsets[ref], scratch, at, lengths[ref]);
            at += lengths[ref];
            scratch[at++] = SEPARATOR;
        }
        long hash = WIRE_HASH.hashBytesToLong(scratch, 0, at);
        int series = write.addSeries(hash, null, firstRef, count);
        write.setSeries(firstSample, series);
        write.assignSeries(firstHistogram, firstExemplar, firstStart, series);
        return scratch;
    }

    /** A repeated uint32 of label references, packed or not. */
    private static void readRefs(CodedInputStream in, int tag, Refs refs) throws IOException {
        if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            refs.add(in.readRawVarint32());
            return;
        }
        int limit = in.pushLimit(in.readRawVarint32());
        while (!in.isAtEnd()) {
            refs.add(in.readRawVarint32());
        }
        in.popLimit(limit);
    }

    /** A remote write 2.0 Exemplar: label refs, value, timestamp. */
    private static Exemplar readExemplar(CodedInputStream in, byte[] body, int[] offsets, int[] lengths) throws IOException {
        Refs refs = new Refs();
        double value = 0;
        long timestamp = 0;
        while (!in.isAtEnd()) {
            int t = in.readTag();
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> readRefs(in, t, refs); // Exemplar: repeated uint32 labels_refs = 1;
                case 2 -> value = in.readDouble(); // Exemplar: double value = 2;
                case 3 -> timestamp = in.readInt64(); // Exemplar: int64 timestamp = 3;
                default -> in.skipField(t);
            }
        }
        Labels labels = Labels.fromSymbols(body, offsets, lengths, refs.values, 0, refs.size);
        return new Exemplar(-1, timestamp, value, labels.names(), labels.values());
    }
}
