package io.prom2pg.series;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.SeriesStore.NewSeries;
import io.prom2pg.store.SeriesStore;

/**
 * Gives series missing from the cache their database ids, creating the new ones within the
 * cardinality limits, a few requests at a time.
 *
 * <p>Whether to look the series up before inserting them is decided from the last call: after a
 * restart most series missing from the cache exist, and one lookup is cheaper than an insert that
 * meets them all; on a first pass most are new, and the insert alone is cheaper than a lookup and
 * an insert (BENCHMARKS.md). Keys another writer created meanwhile are read back.
 */
public class SeriesCreator {

    /**
     * The cardinality limits, as series creation consults them: {@link #check} refuses (throws)
     * series that would pass a limit and has no side effects; {@link #created} counts the series
     * that were created.
     */
    public interface Limits {
        Limits NONE = new Limits() {
            @Override
            public void check(List<NewSeries> series) {
            }

            @Override
            public void created(List<NewSeries> series) {
            }
        };

        void check(List<NewSeries> series);

        void created(List<NewSeries> series);
    }

    private SeriesStore store;
    private Limits limits = Limits.NONE;
    private Semaphore creators = new Semaphore(2);
    /** True when most series of the last call existed already. */
    private volatile boolean lookUpFirst = true;

    public void setStore(SeriesStore store) {
        this.store = store;
    }

    public void setLimits(Limits limits) {
        this.limits = limits == null ? Limits.NONE : limits;
    }

    /**
     * How many requests may resolve series missing from the cache at once. New series insert into
     * the same index pages (the metric name), so more concurrent creators mostly wait on each
     * other's page locks; a few, each with a whole request's misses, go faster.
     */
    public void setConcurrency(int concurrency) {
        this.creators = new Semaphore(Math.max(1, concurrency));
    }

    /**
     * Runs {@code work}, which builds a request's series missing from the cache and
     * {@link #resolve resolves} them, holding one of the {@link #setConcurrency} permits. Requests
     * waiting for a permit have not yet turned their series into strings, so they hold little
     * memory while they wait.
     */
    public void creating(Runnable work) {
        try {
            // Prometheus gives up on a request after 30 s (remote_timeout) and sends it again
            if (!creators.tryAcquire(30, TimeUnit.SECONDS)) {
                throw new StorageUnavailableException("no series creation permit within 30 s: the database is slow to create series");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageUnavailableException("interrupted while waiting to create series");
        }
        try {
            work.run();
        } finally {
            creators.release();
        }
    }

    /**
     * Returns the database id of every given series, in the order given, creating the ones the
     * database does not have yet. The limits may refuse new series by throwing; then nothing of
     * them is written.
     */
    public long[] resolve(List<NewSeries> series) {
        if (series.isEmpty()) {
            return new long[0];
        }
        Map<ByteBuffer, NewSeries> distinct = new LinkedHashMap<>(series.size() * 2);
        for (NewSeries s : series) {
            distinct.putIfAbsent(ByteBuffer.wrap(s.key()), s);
        }
        List<NewSeries> all = new ArrayList<>(distinct.values());
        Map<ByteBuffer, Long> ids = new HashMap<>(all.size() * 2);
        boolean lookUp = lookUpFirst;
        if (!lookUp) {
            try {
                limits.check(all);
            } catch (RuntimeException overLimit) {
                // some of them may exist: count only the new ones
                lookUp = true;
            }
        }
        List<NewSeries> toCreate = all;
        if (lookUp) {
            put(all, store.find(all), ids);
            toCreate = missing(all, ids);
            if (!toCreate.isEmpty()) {
                limits.check(toCreate);
            }
        }
        int existedBefore = ids.size();
        if (!toCreate.isEmpty()) {
            // check() has read the counts of these series' metrics already: created() needs no connection
            limits.created(put(toCreate, store.insert(toCreate), ids));
            List<NewSeries> rest = missing(toCreate, ids);
            // created by another writer meanwhile, or (inserting first) there all along
            put(rest, store.find(rest), ids);
            existedBefore += rest.size();
        }
        lookUpFirst = existedBefore * 2 > all.size();

        long[] result = new long[series.size()];
        for (int i = 0; i < result.length; i++) {
            Long id = ids.get(ByteBuffer.wrap(series.get(i).key()));
            if (id == null) {
                throw new StorageUnavailableException("series " + series.get(i).metricName() + " was neither created nor found");
            }
            result[i] = id;
        }
        return result;
    }

    /** Takes the ids found of the series; returns the series that had one. */
    private static List<NewSeries> put(List<NewSeries> series, long[] found, Map<ByteBuffer, Long> ids) {
        List<NewSeries> had = new ArrayList<>();
        for (int i = 0; i < found.length; i++) {
            if (found[i] != SeriesStore.NOT_FOUND) {
                ids.put(ByteBuffer.wrap(series.get(i).key()), found[i]);
                had.add(series.get(i));
            }
        }
        return had;
    }

    private static List<NewSeries> missing(List<NewSeries> series, Map<ByteBuffer, Long> ids) {
        List<NewSeries> missing = new ArrayList<>();
        for (NewSeries s : series) {
            if (!ids.containsKey(ByteBuffer.wrap(s.key()))) {
                missing.add(s);
            }
        }
        return missing;
    }
}
