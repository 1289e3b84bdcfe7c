package io.prom2pg.series;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.prom2pg.store.SeriesStore.NewSeries;
import io.prom2pg.store.SeriesStore;

/**
 * Refuses requests that would create too many series: more new series than
 * {@code maxNewSeriesPerRequest} in one request, or more than {@code maxSeriesPerMetric} series
 * of one metric. Series counts per metric are read from PostgreSQL the first time a metric gets
 * a new series, then kept up to date in memory as series are created. Requests creating series
 * at the same moment, or several instances, may pass a limit by up to one request's new series
 * each. 0 turns a limit off.
 */
public class CardinalityLimits implements SeriesCreator.Limits {

    private SeriesStore store;
    private int maxNewSeriesPerRequest;
    private long maxSeriesPerMetric;
    private final ConcurrentHashMap<String, AtomicLong> seriesPerMetric = new ConcurrentHashMap<>();

    public void setStore(SeriesStore store) {
        this.store = store;
    }

    public void setMaxNewSeriesPerRequest(int maxNewSeriesPerRequest) {
        this.maxNewSeriesPerRequest = maxNewSeriesPerRequest;
    }

    public void setMaxSeriesPerMetric(long maxSeriesPerMetric) {
        this.maxSeriesPerMetric = maxSeriesPerMetric;
    }

    /** Checks the series a request is about to create; throws {@link CardinalityLimitException} to refuse them. */
    @Override
    public void check(List<NewSeries> created) {
        if (maxNewSeriesPerRequest > 0 && created.size() > maxNewSeriesPerRequest) {
            throw new CardinalityLimitException("request would create " + created.size()
                    + " new series, more than prom2pg.limits.new-series-per-request (" + maxNewSeriesPerRequest + ")");
        }
        if (maxSeriesPerMetric <= 0) {
            return;
        }
        Map<String, Integer> perMetric = new HashMap<>();
        for (NewSeries s : created) {
            perMetric.merge(s.metricName(), 1, Integer::sum);
        }
        for (Map.Entry<String, Integer> e : perMetric.entrySet()) {
            long existing = counter(e.getKey()).get();
            if (existing + e.getValue() > maxSeriesPerMetric) {
                throw new CardinalityLimitException("metric " + e.getKey() + " has " + existing + " series; "
                        + e.getValue() + " more would pass prom2pg.limits.series-per-metric (" + maxSeriesPerMetric + ")");
            }
        }
    }

    /** Counts series that were created. */
    @Override
    public void created(List<NewSeries> created) {
        if (maxSeriesPerMetric <= 0) {
            return;
        }
        for (NewSeries s : created) {
            counter(s.metricName()).incrementAndGet();
        }
    }

    private AtomicLong counter(String metric) {
        AtomicLong count = seriesPerMetric.get(metric);
        if (count == null) {
            count = seriesPerMetric.computeIfAbsent(metric, m -> new AtomicLong(store.countSeries(m)));
        }
        return count;
    }
}
