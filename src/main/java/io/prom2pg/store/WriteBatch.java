package io.prom2pg.store;

import java.util.ArrayList;
import java.util.List;

/**
 * One remote write request, resolved to stored series and ready to store: its samples in chunks
 * per time window, its metadata, native histograms, exemplars and series start times as rows,
 * and what the request is acknowledged with once they are stored. Nothing of it is written yet.
 */
public final class WriteBatch {

    private final List<SampleChunk> chunks;
    private final MetadataBatch metadata;
    private final List<HistogramRow> histograms;
    private final List<ExemplarRow> exemplars;
    private final long[] startSeries;
    private final long[] startTimes;
    private final WriteResult acknowledged;

    public WriteBatch(List<SampleChunk> chunks, MetadataBatch metadata, List<HistogramRow> histograms,
                      List<ExemplarRow> exemplars, long[] startSeries, long[] startTimes, WriteResult acknowledged) {
        this.chunks = List.copyOf(chunks);
        this.metadata = metadata;
        this.histograms = List.copyOf(histograms);
        this.exemplars = List.copyOf(exemplars);
        this.startSeries = startSeries;
        this.startTimes = startTimes;
        this.acknowledged = acknowledged;
    }

    /** Samples only. */
    public WriteBatch(List<SampleChunk> chunks, int samples) {
        this(chunks, MetadataBatch.EMPTY, List.of(), List.of(), new long[0], new long[0], new WriteResult(samples, 0, 0));
    }

    public List<SampleChunk> chunks() {
        return chunks;
    }

    public MetadataBatch metadata() {
        return metadata;
    }

    public List<HistogramRow> histograms() {
        return histograms;
    }

    public List<ExemplarRow> exemplars() {
        return exemplars;
    }

    public long[] startSeries() {
        return startSeries;
    }

    public long[] startTimes() {
        return startTimes;
    }

    /** True when there are native histograms, exemplars or start timestamps to store. */
    public boolean hasExtras() {
        return !histograms.isEmpty() || !exemplars.isEmpty() || startSeries.length > 0;
    }

    /** The samples to store, in all chunks. */
    public int sampleCount() {
        int n = 0;
        for (SampleChunk c : chunks) {
            n += c.getSize();
        }
        return n;
    }

    /** What the request is acknowledged with once this batch is stored. */
    public WriteResult acknowledged() {
        return acknowledged;
    }

    /** Which of a batch's samples to keep, by series id and time (ms). */
    @FunctionalInterface
    public interface SampleFilter {
        boolean keep(long seriesId, long timeMillis);
    }

    /**
     * The samples the filter keeps, in the same time windows; no metadata; the histograms,
     * exemplars and start times only with {@code keepExtras}. Acknowledged with the same numbers.
     */
    public WriteBatch retain(SampleFilter filter, boolean keepExtras) {
        List<SampleChunk> kept = new ArrayList<>();
        for (SampleChunk chunk : chunks) {
            SampleChunk k = null;
            long[] times = chunk.getTimes();
            long[] series = chunk.getSeries();
            double[] values = chunk.getValues();
            for (int i = 0; i < chunk.getSize(); i++) {
                if (filter.keep(series[i], times[i])) {
                    if (k == null) {
                        k = new SampleChunk(chunk.getWindow(), 16);
                    }
                    k.add(times[i], series[i], values[i]);
                }
            }
            if (k != null) {
                kept.add(k);
            }
        }
        return keepExtras
                ? new WriteBatch(kept, MetadataBatch.EMPTY, histograms, exemplars, startSeries, startTimes, acknowledged)
                : new WriteBatch(kept, MetadataBatch.EMPTY, List.of(), List.of(), new long[0], new long[0], acknowledged);
    }
}
