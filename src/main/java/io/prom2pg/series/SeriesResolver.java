package io.prom2pg.series;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.decode.Labels;
import io.prom2pg.decode.NativeHistogram;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.observe.IngestMetrics;
import io.prom2pg.proto.RemoteWriteV1.MetricMetadata;
import io.prom2pg.store.ExemplarRow;
import io.prom2pg.store.HistogramRow;
import io.prom2pg.store.MetadataBatch;
import io.prom2pg.store.SampleChunk;
import io.prom2pg.store.SeriesStore.NewSeries;
import io.prom2pg.store.WriteBatch;
import io.prom2pg.store.WriteResult;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectLinkedOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectMap;
import it.unimi.dsi.fastutil.longs.LongArrayList;

/**
 * Turns a decoded remote write request into a {@link WriteBatch}: checks every sample and every
 * series not seen before (so an invalid request writes nothing), resolves series ids through
 * the cache, creates the missing series in one round trip, and groups samples into chunks per
 * time window.
 *
 * <p>The cache is keyed by the hash of a series' labels as encoded on the wire; a series is
 * decoded into strings and canonicalised only on a miss. Two encodings of one label set (other
 * label order, say) are two cache entries for the same database row.
 */
public class SeriesResolver {

    /** Timestamps PostgreSQL's timestamptz and the daily partitions can hold: years 1 to 9999. */
    static final long MIN_TIMESTAMP = -62_135_596_800_000L;
    static final long MAX_TIMESTAMP = 253_402_300_799_999L;
    /** The "id" of a series the rules do not store. */
    public static final long FILTERED = -2L;

    private SeriesCache cache;
    private SeriesCreator creator;
    private IngestMetrics metrics = new IngestMetrics();
    private SeriesRules rules;
    private LabelLimits labelLimits = new LabelLimits();
    private int chunkSize = 20_000;
    private Set<String> droppedLabels = Set.of();

    public void setCache(SeriesCache cache) {
        this.cache = cache;
    }

    /** Gives the series missing from the cache their ids, creating the new ones within the limits. */
    public void setCreator(SeriesCreator creator) {
        this.creator = creator;
    }

    public void setLabelLimits(LabelLimits labelLimits) {
        this.labelLimits = labelLimits;
    }

    public void setMetrics(IngestMetrics metrics) {
        this.metrics = metrics;
    }

    /** The labels left out of every series' identity. */
    public void setDroppedLabels(DroppedLabels droppedLabels) {
        this.droppedLabels = droppedLabels.names();
    }

    /** The keep/drop rules. */
    public void setRules(SeriesRules rules) {
        this.rules = rules;
    }

    /** The most samples one insert statement carries. */
    public void setChunkSize(int chunkSize) {
        this.chunkSize = chunkSize;
    }

    public WriteBatch resolve(DecodedWrite write) {
        int samples = write.sampleCount();
        metrics.received(samples);
        long[] ids;
        MetadataBatch metadata;
        try {
            labelLimits.checkRequest(write);
            checkTimestamps(write);
            metadata = metadata(write.metadata());
            ids = ids(write);
        } catch (CardinalityLimitException e) {
            metrics.rejected(IngestMetrics.REASON_CARDINALITY, samples);
            throw e;
        } catch (InvalidRequestException e) {
            metrics.rejected(IngestMetrics.REASON_INVALID, samples);
            throw e;
        }
        LongArrayList startSeries = new LongArrayList();
        LongArrayList startTimes = new LongArrayList();
        for (int k = 0; k < write.startCount(); k++) {
            long id = ids[write.startSeries(k)];
            if (id >= 0) {
                startSeries.add(id);
                startTimes.add(write.startTime(k));
            }
        }
        return new WriteBatch(chunks(write, ids), metadata, histograms(write, ids), exemplars(write, ids),
                startSeries.toLongArray(), startTimes.toLongArray(),
                new WriteResult(samples, write.histograms().size(), write.exemplars().size()));
    }

    /** The request's native histograms of stored series, as rows. */
    private static List<HistogramRow> histograms(DecodedWrite write, long[] ids) {
        List<HistogramRow> rows = new ArrayList<>(write.histograms().size());
        for (NativeHistogram h : write.histograms()) {
            long id = ids[h.series()];
            if (id >= 0) { // not a series the rules leave out
                rows.add(new HistogramRow(id, h.timestamp(), h.countInt(), h.countFloat(), h.sum(), h.schema(),
                        h.zeroThreshold(), h.zeroCountInt(), h.zeroCountFloat(), h.negativeSpans(), h.negativeDeltas(),
                        h.negativeCounts(), h.positiveSpans(), h.positiveDeltas(), h.positiveCounts(), h.resetHint(),
                        h.customValues()));
            }
        }
        return rows;
    }

    /** The request's exemplars of stored series, as rows. */
    private static List<ExemplarRow> exemplars(DecodedWrite write, long[] ids) {
        List<ExemplarRow> rows = new ArrayList<>(write.exemplars().size());
        for (var e : write.exemplars()) {
            long id = ids[e.series()];
            if (id >= 0) {
                rows.add(new ExemplarRow(id, e.timestamp(), e.value(), e.names(), e.values()));
            }
        }
        return rows;
    }

    /** Metric metadata, one entry per metric family (the last one of the request wins). */
    static MetadataBatch metadata(List<MetricMetadata> metadata) {
        if (metadata.isEmpty()) {
            return MetadataBatch.EMPTY;
        }
        Map<String, MetricMetadata> byName = new LinkedHashMap<>();
        for (MetricMetadata m : metadata) {
            String name = m.getMetricFamilyName();
            if (name.isEmpty()) {
                throw new InvalidRequestException("metadata entry without a metric family name");
            }
            if (hasNul(name) || hasNul(m.getHelp()) || hasNul(m.getUnit())) {
                throw new InvalidRequestException("NUL character in the metadata of metric family '"
                        + name.replace("\0", "\\0") + "'");
            }
            byName.put(name, m);
        }
        int n = byName.size();
        String[] names = new String[n];
        String[] types = new String[n];
        String[] helps = new String[n];
        String[] units = new String[n];
        int i = 0;
        for (MetricMetadata m : byName.values()) {
            names[i] = m.getMetricFamilyName();
            types[i] = m.getType() == MetricMetadata.MetricType.UNRECOGNIZED ? "unknown" : m.getType().name().toLowerCase(Locale.ROOT);
            helps[i] = m.getHelp();
            units[i] = m.getUnit();
            i++;
        }
        return new MetadataBatch(names, types, helps, units);
    }

    private static boolean hasNul(String s) {
        return s.indexOf('\0') >= 0;
    }

    private static void checkTimestamps(DecodedWrite write) {
        for (var h : write.histograms()) {
            checkTimestamp(write, h.series(), h.timestamp());
        }
        for (var e : write.exemplars()) {
            checkTimestamp(write, e.series(), e.timestamp());
        }
        for (int k = 0; k < write.startCount(); k++) {
            checkTimestamp(write, write.startSeries(k), write.startTime(k));
        }
        for (int j = 0; j < write.sampleCount(); j++) {
            checkTimestamp(write, write.sampleSeries(j), write.sampleTime(j));
        }
    }

    private static void checkTimestamp(DecodedWrite write, int series, long t) {
        if (t < MIN_TIMESTAMP || t > MAX_TIMESTAMP) {
            Labels labels = write.labels(series);
            throw new InvalidRequestException("timestamp " + t + " ms of series "
                    + LabelSet.of(labels.names(), labels.values()) + " is outside the years 1 to 9999");
        }
    }

    private long[] ids(DecodedWrite write) {
        int n = write.seriesCount();
        long[] ids = new long[n];
        IntArrayList missed = null;
        int hits = 0;
        for (int i = 0; i < n; i++) {
            long id = cache.get(write.labelHash(i));
            if (id != SeriesCache.MISSING) {
                ids[i] = id; // a database id, or FILTERED
                hits++;
            } else {
                if (missed == null) {
                    missed = new IntArrayList();
                }
                missed.add(i);
            }
        }
        if (missed != null) {
            IntArrayList misses = missed;
            // the misses become strings only once this request may create series
            creator.creating(() -> resolveMisses(write, misses, ids));
        }
        metrics.seriesCache(hits, n - hits);
        return ids;
    }

    /** Checks, builds and resolves the series missing from the cache; sets their ids. */
    private void resolveMisses(DecodedWrite write, IntArrayList missed, long[] ids) {
        List<NewSeries> misses = new ArrayList<>();
        LongArrayList missHashes = new LongArrayList();
        Long2IntOpenHashMap missIndex = new Long2IntOpenHashMap();
        missIndex.defaultReturnValue(-1);
        int[] missOf = new int[missed.size()];
        for (int j = 0; j < missed.size(); j++) {
            int i = missed.getInt(j);
            long hash = write.labelHash(i);
            missOf[j] = -1;
            long id = cache.get(hash); // another request may have created it meanwhile
            if (id != SeriesCache.MISSING) {
                ids[i] = id;
                continue;
            }
            int m = missIndex.get(hash);
            if (m < 0) {
                Labels labels = write.labels(i);
                labelLimits.checkSeries(labels);
                LabelSet ls = LabelSet.of(labels.names(), labels.values(), droppedLabels);
                if (rules != null && !rules.keeps(ls)) {
                    // not stored, by configuration; remembered like a resolved series
                    ids[i] = FILTERED;
                    cache.put(hash, FILTERED);
                    continue;
                }
                m = misses.size();
                misses.add(new NewSeries(ls.key(), ls.metricName(), ls.names(), ls.values()));
                missHashes.add(hash);
                missIndex.put(hash, m);
            }
            missOf[j] = m;
        }
        if (misses.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        long[] created = creator.resolve(misses);
        metrics.seriesCreated(misses.size(), System.nanoTime() - t0);
        for (int m = 0; m < created.length; m++) {
            cache.put(missHashes.getLong(m), created[m]);
        }
        for (int j = 0; j < missOf.length; j++) {
            if (missOf[j] >= 0) {
                ids[missed.getInt(j)] = created[missOf[j]];
            }
        }
    }

    private List<SampleChunk> chunks(DecodedWrite write, long[] ids) {
        int samples = write.sampleCount();
        Long2ObjectMap<List<SampleChunk>> byWindow = new Long2ObjectLinkedOpenHashMap<>();
        long lastWindow = Long.MIN_VALUE;
        List<SampleChunk> last = null;
        int filtered = 0;
        for (int j = 0; j < samples; j++) {
            long id = ids[write.sampleSeries(j)];
            if (id == FILTERED) {
                filtered++;
                continue;
            }
            long t = write.sampleTime(j);
            long window = SampleChunk.windowOf(t);
            if (window != lastWindow) {
                last = byWindow.get(window);
                if (last == null) {
                    last = new ArrayList<>(1);
                    byWindow.put(window, last);
                }
                lastWindow = window;
            }
            SampleChunk chunk = last.isEmpty() ? null : last.get(last.size() - 1);
            if (chunk == null || chunk.getSize() >= chunkSize) {
                chunk = new SampleChunk(window, Math.min(samples, chunkSize));
                last.add(chunk);
            }
            chunk.add(t, id, write.sampleValue(j));
        }
        if (filtered > 0) {
            metrics.rejected(IngestMetrics.REASON_FILTERED, filtered);
        }
        List<SampleChunk> chunks = new ArrayList<>();
        byWindow.values().forEach(chunks::addAll);
        return chunks;
    }
}
