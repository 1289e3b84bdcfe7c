package io.prom2pg.series;

import java.util.ArrayList;
import java.util.List;

import io.prom2pg.decode.InvalidRequestException;
import io.prom2pg.observe.IngestMetrics;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.MetadataBatch;
import io.prom2pg.store.SampleChunk;
import io.prom2pg.store.SeriesStore;
import io.prom2pg.store.SeriesStore.NewSeries;
import io.prom2pg.store.WriteBatch;
import it.unimi.dsi.fastutil.longs.Long2ObjectLinkedOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectMap;

/**
 * Turns a decoded remote write request into a {@link WriteBatch}: validates every series and
 * sample first (so an invalid request writes nothing), resolves series ids through the cache,
 * creates the missing series in one round trip, and groups samples into chunks per time window.
 */
public class SeriesResolver {

    /** Timestamps PostgreSQL's timestamptz and the daily partitions can hold: years 1 to 9999. */
    static final long MIN_TIMESTAMP = -62_135_596_800_000L;
    static final long MAX_TIMESTAMP = 253_402_300_799_999L;

    private SeriesCache cache;
    private SeriesStore store;
    private IngestMetrics metrics;
    private int chunkSize = 20_000;

    public void setCache(SeriesCache cache) {
        this.cache = cache;
    }

    public void setStore(SeriesStore store) {
        this.store = store;
    }

    public void setMetrics(IngestMetrics metrics) {
        this.metrics = metrics;
    }

    /** The most samples one insert statement carries. */
    public void setChunkSize(int chunkSize) {
        this.chunkSize = chunkSize;
    }

    /** Samples in a request, before any validation. */
    public static int countSamples(WriteRequest request) {
        int samples = 0;
        for (TimeSeries ts : request.getTimeseriesList()) {
            samples += ts.getSamplesCount();
        }
        return samples;
    }

    public WriteBatch resolve(WriteRequest request) {
        List<TimeSeries> timeseries = request.getTimeseriesList();
        int samples = countSamples(request);
        if (metrics != null) {
            metrics.received(samples);
        }
        LabelSet[] labelSets;
        MetadataBatch metadata;
        try {
            labelSets = validate(timeseries);
            metadata = MetadataBatch.of(request.getMetadataList());
        } catch (InvalidRequestException e) {
            if (metrics != null) {
                metrics.rejected(IngestMetrics.REASON_INVALID, samples);
            }
            throw e;
        }
        long[] ids = ids(labelSets);
        return new WriteBatch(chunks(timeseries, ids, samples), metadata, samples);
    }

    private static LabelSet[] validate(List<TimeSeries> timeseries) {
        LabelSet[] labelSets = new LabelSet[timeseries.size()];
        for (int i = 0; i < labelSets.length; i++) {
            TimeSeries ts = timeseries.get(i);
            if (ts.getSamplesCount() == 0) {
                continue;
            }
            labelSets[i] = LabelSet.of(ts.getLabelsList());
            for (Sample sample : ts.getSamplesList()) {
                long t = sample.getTimestamp();
                if (t < MIN_TIMESTAMP || t > MAX_TIMESTAMP) {
                    throw new InvalidRequestException("sample timestamp " + t + " ms of series " + labelSets[i]
                            + " is outside the years 1 to 9999");
                }
            }
        }
        return labelSets;
    }

    private long[] ids(LabelSet[] labelSets) {
        long[] ids = new long[labelSets.length];
        List<NewSeries> misses = new ArrayList<>();
        List<Integer> missIndex = new ArrayList<>();
        int hits = 0;
        for (int i = 0; i < labelSets.length; i++) {
            LabelSet ls = labelSets[i];
            if (ls == null) {
                continue;
            }
            long id = cache.get(ls.cacheKey());
            if (id == SeriesCache.MISSING) {
                misses.add(new NewSeries(ls.key(), ls.metricName(), ls.names(), ls.values()));
                missIndex.add(i);
            } else {
                ids[i] = id;
                hits++;
            }
        }
        if (!misses.isEmpty()) {
            long[] created = store.resolve(misses);
            for (int j = 0; j < created.length; j++) {
                int i = missIndex.get(j);
                ids[i] = created[j];
                cache.put(labelSets[i].cacheKey(), created[j]);
            }
        }
        if (metrics != null) {
            metrics.seriesCache(hits, misses.size());
        }
        return ids;
    }

    private List<SampleChunk> chunks(List<TimeSeries> timeseries, long[] ids, int samples) {
        Long2ObjectMap<List<SampleChunk>> byWindow = new Long2ObjectLinkedOpenHashMap<>();
        for (int i = 0; i < ids.length; i++) {
            TimeSeries ts = timeseries.get(i);
            for (Sample sample : ts.getSamplesList()) {
                long window = SampleChunk.windowOf(sample.getTimestamp());
                List<SampleChunk> list = byWindow.get(window);
                if (list == null) {
                    list = new ArrayList<>(1);
                    byWindow.put(window, list);
                }
                SampleChunk chunk = list.isEmpty() ? null : list.get(list.size() - 1);
                if (chunk == null || chunk.getSize() >= chunkSize) {
                    chunk = new SampleChunk(window, Math.min(samples, chunkSize));
                    list.add(chunk);
                }
                chunk.add(sample.getTimestamp(), ids[i], sample.getValue());
            }
        }
        List<SampleChunk> chunks = new ArrayList<>();
        byWindow.values().forEach(chunks::addAll);
        return chunks;
    }
}
