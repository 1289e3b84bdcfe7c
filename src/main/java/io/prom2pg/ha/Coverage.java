package io.prom2pg.ha;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.prom2pg.store.StoredTimes;
import io.prom2pg.store.WriteBatch;

/**
 * A follower's samples and native histograms against what the store holds of their series. A
 * sample is covered when the store holds its series at its time or later, less half the series'
 * interval (the two newest stored samples give it): the leader's sample of the same scrape,
 * whichever replica scraped first. A sample not covered is waited for, unless the leader's
 * progress has gone past it by more than the lease timeout or two intervals without storing its
 * series (a target only the follower reaches): then it is stored.
 */
final class Coverage {

    /** Reads the two newest stored times of each series ({@code table}: samples or histograms) from {@code from} on. */
    @FunctionalInterface
    interface Store {
        StoredTimes.Newest[] newest(String table, long[] ids, long[] from);
    }

    private final Times samples;
    private final Times histograms;

    private Coverage(Times samples, Times histograms) {
        this.samples = samples;
        this.histograms = histograms;
    }

    static Coverage of(WriteBatch batch) {
        Times samples = new Times("samples");
        for (var chunk : batch.chunks()) {
            long[] series = chunk.getSeries();
            long[] times = chunk.getTimes();
            for (int i = 0; i < chunk.getSize(); i++) {
                samples.add(series[i], times[i]);
            }
        }
        Times histograms = new Times("histograms");
        for (var h : batch.histograms()) {
            histograms.add(h.seriesId(), h.time());
        }
        return new Coverage(samples, histograms);
    }

    /** Reads again what the store holds of the series not covered yet. */
    void refresh(Store store) {
        samples.refresh(store);
        histograms.refresh(store);
    }

    boolean covered(long series, long time) {
        return samples.covered(series, time);
    }

    /** Samples and histograms neither covered nor gone past by the leader's progress. */
    int waiting(long progress, long timeoutMillis) {
        return samples.waiting(progress, timeoutMillis) + histograms.waiting(progress, timeoutMillis);
    }

    /** Whether a histogram is not covered (so the request's extras are stored). */
    boolean histogramGaps() {
        return histograms.uncovered() > 0;
    }

    /** The times sent of one kind of sample, per series, and the two newest stored of each series. */
    private static final class Times {
        /** One series: the earliest and newest time sent, and what the store holds of it. */
        private static final class Series {
            long earliest = Long.MAX_VALUE;
            long latest = Long.MIN_VALUE;
            StoredTimes.Newest stored = new StoredTimes.Newest(StoredTimes.NONE, StoredTimes.NONE);

            /** Stored at the time or later, less half the series' interval: the same scrape of the other replica. */
            boolean covers(long time) {
                return stored.newest() != StoredTimes.NONE && stored.newest() >= time - stored.interval() / 2;
            }
        }

        private final String table;
        private final List<long[]> sent = new ArrayList<>(); // {series, time}
        private final Map<Long, Series> bySeries = new HashMap<>();

        Times(String table) {
            this.table = table;
        }

        void add(long series, long time) {
            sent.add(new long[] {series, time});
            Series s = bySeries.computeIfAbsent(series, x -> new Series());
            s.earliest = Math.min(s.earliest, time);
            s.latest = Math.max(s.latest, time);
        }

        /** Reads the newest stored times of every series whose newest time sent is not covered yet. */
        void refresh(Store store) {
            List<Long> open = new ArrayList<>();
            bySeries.forEach((id, s) -> {
                if (!s.covers(s.latest)) {
                    open.add(id);
                }
            });
            if (open.isEmpty()) {
                return;
            }
            long[] ids = new long[open.size()];
            long[] from = new long[open.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = open.get(i);
                from[i] = bySeries.get(ids[i]).earliest;
            }
            StoredTimes.Newest[] newest = store.newest(table, ids, from);
            for (int i = 0; i < ids.length; i++) {
                bySeries.get(ids[i]).stored = newest[i];
            }
        }

        boolean covered(long series, long time) {
            Series s = bySeries.get(series);
            return s != null && s.covers(time);
        }

        int waiting(long progress, long timeoutMillis) {
            int n = 0;
            for (long[] x : sent) {
                if (!covered(x[0], x[1]) && !gonePast(x[0], x[1], progress, timeoutMillis)) {
                    n++;
                }
            }
            return n;
        }

        int uncovered() {
            int n = 0;
            for (long[] x : sent) {
                if (!covered(x[0], x[1])) {
                    n++;
                }
            }
            return n;
        }

        private boolean gonePast(long series, long time, long progress, long timeoutMillis) {
            return progress != Leases.NO_TIME && progress > time + Math.max(timeoutMillis, 2 * bySeries.get(series).stored.interval());
        }
    }
}
