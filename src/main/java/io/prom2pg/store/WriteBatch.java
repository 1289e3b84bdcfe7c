package io.prom2pg.store;

import java.util.List;

/**
 * One remote write request, resolved and ready to store: its samples split into chunks per time
 * window, and its metadata. Nothing of it has been written yet.
 */
public final class WriteBatch {

    private final List<SampleChunk> chunks;
    private final MetadataBatch metadata;
    private final int sampleCount;

    public WriteBatch(List<SampleChunk> chunks, MetadataBatch metadata, int sampleCount) {
        this.chunks = chunks;
        this.metadata = metadata;
        this.sampleCount = sampleCount;
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
}
