package io.prom2pg.store;

import java.util.Arrays;

/**
 * Samples of one time window (one partition of the samples table), as the column arrays that
 * the bulk insert statement unnests. Filled by appending, read by the SQL route.
 */
public final class SampleChunk {

    /**
     * 15 minutes, the head's partition span: the (series_id, time) index pages a checkpoint makes
     * busy stay at about a quarter of the active series at 15 s, however much the head holds
     * (V12__head_windows.sql, BENCHMARKS.md "The head in 15-minute partitions").
     */
    public static final long WINDOW_MILLIS = 900_000L;

    private final long window;
    private long[] times;
    private long[] series;
    private double[] values;
    private int size;

    public SampleChunk(long window, int expectedSize) {
        this.window = window;
        int capacity = Math.max(16, expectedSize);
        this.times = new long[capacity];
        this.series = new long[capacity];
        this.values = new double[capacity];
    }

    public static long windowOf(long timestampMillis) {
        return Math.floorDiv(timestampMillis, WINDOW_MILLIS);
    }

    public void add(long timestampMillis, long seriesId, double value) {
        if (size == times.length) {
            int capacity = size * 2;
            times = Arrays.copyOf(times, capacity);
            series = Arrays.copyOf(series, capacity);
            values = Arrays.copyOf(values, capacity);
        }
        times[size] = timestampMillis;
        series[size] = seriesId;
        values[size] = value;
        size++;
    }

    /** The window's number: it starts {@code window * WINDOW_MILLIS} ms after the epoch. */
    public long getWindow() {
        return window;
    }

    /** The earliest and the latest sample time (ms); {@code [MAX, MIN]} when empty. */
    public long[] timeRange() {
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int i = 0; i < size; i++) {
            min = Math.min(min, times[i]);
            max = Math.max(max, times[i]);
        }
        return new long[] {min, max};
    }

    public int getSize() {
        return size;
    }

    /** Sample timestamps, milliseconds since the epoch. */
    public long[] getTimes() {
        return times.length == size ? times : (times = Arrays.copyOf(times, size));
    }

    public long[] getSeries() {
        return series.length == size ? series : (series = Arrays.copyOf(series, size));
    }

    public double[] getValues() {
        return values.length == size ? values : (values = Arrays.copyOf(values, size));
    }

    @Override
    public String toString() {
        return "SampleChunk[window=" + window + ", size=" + size + "]";
    }
}
