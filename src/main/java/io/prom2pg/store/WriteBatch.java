package io.prom2pg.store;

import java.util.List;

import io.prom2pg.decode.DecodedWrite;

/**
 * One remote write request, resolved and ready to store: its samples split into chunks per time
 * window, and its metadata. Nothing of it has been written yet.
 */
public final class WriteBatch {

    private final List<SampleChunk> chunks;
    private final MetadataBatch metadata;
    private final int sampleCount;
    private final DecodedWrite decoded;
    private final long[] seriesIds;

    public WriteBatch(List<SampleChunk> chunks, MetadataBatch metadata, int sampleCount) {
        this(chunks, metadata, sampleCount, null, new long[0]);
    }

    /** With the decoded request and its series ids, for the histograms, exemplars and starts it carries. */
    public WriteBatch(List<SampleChunk> chunks, MetadataBatch metadata, int sampleCount, DecodedWrite decoded, long[] seriesIds) {
        this.chunks = chunks;
        this.metadata = metadata;
        this.sampleCount = sampleCount;
        this.decoded = decoded;
        this.seriesIds = seriesIds;
    }

    /** True when the request carries native histograms, exemplars or start timestamps. */
    public boolean isHasExtras() {
        return decoded != null && (!decoded.histograms().isEmpty() || !decoded.exemplars().isEmpty() || decoded.startCount() > 0);
    }

    public DecodedWrite decoded() {
        return decoded;
    }

    /** The database id of the decoded request's series i. */
    public long seriesId(int i) {
        return seriesIds[i];
    }

    public List<SampleChunk> getChunks() {
        return chunks;
    }

    public MetadataBatch getMetadata() {
        return metadata;
    }

    public boolean isHasMetadata() {
        return !metadata.isEmpty();
    }

    public int getSampleCount() {
        return sampleCount;
    }

    /** Which of a batch's samples to keep, by series id and time (ms). */
    @FunctionalInterface
    public interface SampleFilter {
        boolean keep(long seriesId, long timeMillis);
    }

    /**
     * The samples the filter keeps, in the same time windows; no metadata; the request's
     * histograms, exemplars and start times only with {@code keepExtras}.
     */
    public WriteBatch retain(SampleFilter filter, boolean keepExtras) {
        java.util.List<SampleChunk> kept = new java.util.ArrayList<>();
        int count = 0;
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
                count += k.getSize();
            }
        }
        return keepExtras
                ? new WriteBatch(java.util.List.copyOf(kept), MetadataBatch.of(java.util.List.of()), count, decoded, seriesIds)
                : new WriteBatch(java.util.List.copyOf(kept), MetadataBatch.of(java.util.List.of()), count);
    }
}
