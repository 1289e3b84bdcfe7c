package io.prom2pg.decode;

import java.io.IOException;
import java.util.Arrays;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;

/**
 * One native histogram sample as sent: integer or float counts, schema, zero bucket, spans and
 * buckets (deltas for integer histograms, absolute counts for float ones), reset hint, custom
 * bucket bounds. The Histogram message has the same field numbers in remote write 1.0 and 2.0.
 */
public record NativeHistogram(int series, long timestamp, Long countInt, Double countFloat, double sum, int schema,
                              double zeroThreshold, Long zeroCountInt, Double zeroCountFloat,
                              int[] negativeSpans, long[] negativeDeltas, double[] negativeCounts,
                              int[] positiveSpans, long[] positiveDeltas, double[] positiveCounts,
                              int resetHint, double[] customValues) {

    /** Reads a Histogram message; {@code in} is limited to it. */
    static NativeHistogram read(CodedInputStream in, int series) throws IOException {
        Long countInt = null;
        Double countFloat = null;
        double sum = 0;
        int schema = 0;
        double zeroThreshold = 0;
        Long zeroCountInt = null;
        Double zeroCountFloat = null;
        Ints negativeSpans = new Ints();
        Longs negativeDeltas = new Longs();
        Doubles negativeCounts = new Doubles();
        Ints positiveSpans = new Ints();
        Longs positiveDeltas = new Longs();
        Doubles positiveCounts = new Doubles();
        int resetHint = 0;
        long timestamp = 0;
        Doubles customValues = new Doubles();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            boolean packed = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> countInt = in.readUInt64(); // Histogram: uint64 count_int = 1; (oneof count)
                case 2 -> countFloat = in.readDouble(); // Histogram: double count_float = 2; (oneof count)
                case 3 -> sum = in.readDouble(); // Histogram: double sum = 3;
                case 4 -> schema = in.readSInt32(); // Histogram: sint32 schema = 4;
                case 5 -> zeroThreshold = in.readDouble(); // Histogram: double zero_threshold = 5;
                case 6 -> zeroCountInt = in.readUInt64(); // Histogram: uint64 zero_count_int = 6; (oneof zero_count)
                case 7 -> zeroCountFloat = in.readDouble(); // Histogram: double zero_count_float = 7; (oneof zero_count)
                case 8 -> readSpan(in, negativeSpans); // Histogram: repeated BucketSpan negative_spans = 8;
                case 9 -> readSInt64s(in, packed, negativeDeltas); // Histogram: repeated sint64 negative_deltas = 9;
                case 10 -> readDoubles(in, packed, negativeCounts); // Histogram: repeated double negative_counts = 10;
                case 11 -> readSpan(in, positiveSpans); // Histogram: repeated BucketSpan positive_spans = 11;
                case 12 -> readSInt64s(in, packed, positiveDeltas); // Histogram: repeated sint64 positive_deltas = 12;
                case 13 -> readDoubles(in, packed, positiveCounts); // Histogram: repeated double positive_counts = 13;
                case 14 -> resetHint = in.readEnum(); // Histogram: ResetHint reset_hint = 14;
                case 15 -> timestamp = in.readInt64(); // Histogram: int64 timestamp = 15;
                case 16 -> readDoubles(in, packed, customValues); // Histogram: repeated double custom_values = 16;
                default -> in.skipField(tag);
            }
        }
        return new NativeHistogram(series, timestamp, countInt, countFloat, sum, schema, zeroThreshold, zeroCountInt,
                zeroCountFloat, negativeSpans.array(), negativeDeltas.array(), negativeCounts.array(),
                positiveSpans.array(), positiveDeltas.array(), positiveCounts.array(), resetHint, customValues.array());
    }

    NativeHistogram withSeries(int s) {
        return new NativeHistogram(s, timestamp, countInt, countFloat, sum, schema, zeroThreshold, zeroCountInt,
                zeroCountFloat, negativeSpans, negativeDeltas, negativeCounts, positiveSpans, positiveDeltas,
                positiveCounts, resetHint, customValues);
    }

    private static void readSpan(CodedInputStream in, Ints spans) throws IOException {
        int limit = in.pushLimit(in.readRawVarint32());
        int offset = 0;
        int length = 0;
        while (!in.isAtEnd()) {
            int t = in.readTag();
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> offset = in.readSInt32(); // BucketSpan: sint32 offset = 1;
                case 2 -> length = in.readUInt32(); // BucketSpan: uint32 length = 2;
                default -> in.skipField(t);
            }
        }
        in.popLimit(limit);
        spans.add(offset);
        spans.add(length);
    }

    private static void readSInt64s(CodedInputStream in, boolean packed, Longs out) throws IOException {
        if (!packed) {
            out.add(in.readSInt64());
            return;
        }
        int limit = in.pushLimit(in.readRawVarint32());
        while (!in.isAtEnd()) {
            out.add(in.readSInt64());
        }
        in.popLimit(limit);
    }

    private static void readDoubles(CodedInputStream in, boolean packed, Doubles out) throws IOException {
        if (!packed) {
            out.add(in.readDouble());
            return;
        }
        int limit = in.pushLimit(in.readRawVarint32());
        while (!in.isAtEnd()) {
            out.add(in.readDouble());
        }
        in.popLimit(limit);
    }

    private static final class Ints {
        int[] v = new int[8];
        int n;

        void add(int x) {
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = x;
        }

        int[] array() {
            return Arrays.copyOf(v, n);
        }
    }

    private static final class Longs {
        long[] v = new long[8];
        int n;

        void add(long x) {
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = x;
        }

        long[] array() {
            return Arrays.copyOf(v, n);
        }
    }

    private static final class Doubles {
        double[] v = new double[8];
        int n;

        void add(double x) {
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = x;
        }

        double[] array() {
            return Arrays.copyOf(v, n);
        }
    }
}
