package io.prom2pg.decode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.prom2pg.proto.RemoteWriteV1.MetricMetadata;

/**
 * A remote write request as {@link RemoteWriteV1Reader} reads it: no object per series or
 * sample. Each series is a 64-bit hash of its encoded labels plus where those bytes sit in the
 * body (decoded into strings only when the series is not cached); samples are column arrays
 * that point at their series by index.
 */
public final class DecodedWrite {

    private final byte[] body;
    private int seriesCount;
    private long[] labelHashes = new long[64];
    private int[] labelOffsets = new int[64];
    private int[] labelLengths = new int[64];
    private byte[][] labelBytes = new byte[64][];

    private int sampleCount;
    private int[] sampleSeries = new int[256];
    private long[] sampleTimes = new long[256];
    private double[] sampleValues = new double[256];

    private final List<MetricMetadata> metadata = new ArrayList<>();
    private final List<NativeHistogram> histograms = new ArrayList<>();
    private final List<Exemplar> exemplars = new ArrayList<>();
    private long[] starts = new long[0]; // series, start ms, series, start ms...
    private int startCount;

    /** Remote write 2.0: the request's symbol table (where each symbol's bytes are) and label refs. */
    private int[] symbolOffsets;
    private int[] symbolLengths;
    private int[] refs;

    DecodedWrite(byte[] body) {
        this.body = body;
    }

    /** Switches to remote write 2.0: series labels are references into this symbol table. */
    void useSymbols(int[] offsets, int[] lengths, int[] labelRefs) {
        this.symbolOffsets = offsets;
        this.symbolLengths = lengths;
        this.refs = labelRefs;
    }

    int addSeries(long labelHash, byte[] bytes, int offset, int length) {
        if (seriesCount == labelHashes.length) {
            int n = seriesCount * 2;
            labelHashes = Arrays.copyOf(labelHashes, n);
            labelOffsets = Arrays.copyOf(labelOffsets, n);
            labelLengths = Arrays.copyOf(labelLengths, n);
            labelBytes = Arrays.copyOf(labelBytes, n);
        }
        labelHashes[seriesCount] = labelHash;
        labelBytes[seriesCount] = bytes == body ? null : bytes;
        labelOffsets[seriesCount] = offset;
        labelLengths[seriesCount] = length;
        return seriesCount++;
    }

    void addSample(int series, long timestamp, double value) {
        if (sampleCount == sampleTimes.length) {
            int n = sampleCount * 2;
            sampleSeries = Arrays.copyOf(sampleSeries, n);
            sampleTimes = Arrays.copyOf(sampleTimes, n);
            sampleValues = Arrays.copyOf(sampleValues, n);
        }
        sampleSeries[sampleCount] = series;
        sampleTimes[sampleCount] = timestamp;
        sampleValues[sampleCount] = value;
        sampleCount++;
    }

    /** Points samples from {@code firstSample} to the end at series i (its labels come last). */
    void setSeries(int firstSample, int series) {
        Arrays.fill(sampleSeries, firstSample, sampleCount, series);
    }

    void addHistogram(NativeHistogram h) {
        histograms.add(h);
    }

    void addExemplar(Exemplar e) {
        exemplars.add(e);
    }

    /** A series' counter started at this time (created / start timestamp). */
    void addStart(int series, long startMillis) {
        if (startCount * 2 == starts.length) {
            starts = Arrays.copyOf(starts, Math.max(16, starts.length * 2));
        }
        starts[startCount * 2] = series;
        starts[startCount * 2 + 1] = startMillis;
        startCount++;
    }

    /** Histograms, exemplars and starts added since {@code from*} now belong to series {@code series}. */
    void assignSeries(int fromHistogram, int fromExemplar, int fromStart, int series) {
        for (int k = fromHistogram; k < histograms.size(); k++) {
            histograms.set(k, histograms.get(k).withSeries(series));
        }
        for (int k = fromExemplar; k < exemplars.size(); k++) {
            exemplars.set(k, exemplars.get(k).withSeries(series));
        }
        for (int k = fromStart; k < startCount; k++) {
            starts[k * 2] = series;
        }
    }

    public List<NativeHistogram> histograms() {
        return histograms;
    }

    public List<Exemplar> exemplars() {
        return exemplars;
    }

    public int startCount() {
        return startCount;
    }

    public int startSeries(int k) {
        return (int) starts[k * 2];
    }

    public long startTime(int k) {
        return starts[k * 2 + 1];
    }

    void addMetadata(MetricMetadata m) {
        metadata.add(m);
    }

    public int seriesCount() {
        return seriesCount;
    }

    /** Hash of series i's encoded label fields: equal bytes, equal hash. */
    public long labelHash(int i) {
        return labelHashes[i];
    }

    /** Series i's labels, decoded and checked against the remote write contract. */
    public Labels labels(int i) {
        if (refs != null) { // remote write 2.0
            return Labels.fromSymbols(body, symbolOffsets, symbolLengths, refs, labelOffsets[i], labelLengths[i]);
        }
        byte[] bytes = labelBytes[i] != null ? labelBytes[i] : body;
        return Labels.decode(bytes, labelOffsets[i], labelLengths[i]);
    }

    public int sampleCount() {
        return sampleCount;
    }

    public int sampleSeries(int j) {
        return sampleSeries[j];
    }

    public long sampleTime(int j) {
        return sampleTimes[j];
    }

    public double sampleValue(int j) {
        return sampleValues[j];
    }

    public List<MetricMetadata> metadata() {
        return metadata;
    }
}
