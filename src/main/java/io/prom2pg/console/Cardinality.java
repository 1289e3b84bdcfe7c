package io.prom2pg.console;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import org.apache.camel.Header;

/**
 * Which metrics have the most series, and which labels of a metric have the most values, as
 * Prometheus' TSDB status page shows them. Both are bounded: the top list counts the series table
 * through its metric-name index; a metric's labels are read from at most
 * {@code prom2pg.console.cardinality-max-series} of its series (the answer says when it stopped
 * there); answers are cached for {@code prom2pg.console.cache-ms}.
 */
public class Cardinality {

    public record MetricSeries(String name, long series) {
    }

    /** {@code GET /console/api/cardinality}. */
    public record Top(long seriesTotal, List<MetricSeries> metrics, int limit, long readAt) {
    }

    public record LabelValue(String value, long series) {
    }

    public record LabelValues(String name, long values, List<LabelValue> top) {
    }

    /** {@code GET /console/api/cardinality?metric=...}. */
    public record Metric(String metric, long series, long scanned, boolean truncated, List<LabelValues> labels, long readAt) {
    }

    private ConsoleDb consoleDb;
    private int topMetrics = 20;
    private int maxSeries = 100_000;
    private final Cached<String, Object> cache = new Cached<>(15_000);

    public void setConsoleDb(ConsoleDb consoleDb) {
        this.consoleDb = consoleDb;
    }

    public void setTopMetrics(int topMetrics) {
        this.topMetrics = topMetrics;
    }

    public void setMaxSeries(int maxSeries) {
        this.maxSeries = maxSeries;
    }

    public void setCacheMillis(long cacheMillis) {
        cache.maxAge(cacheMillis);
    }

    /** The top metrics, or the labels of {@code metric} when one is given. */
    public Object answer(@Header("metric") String metric) {
        if (metric == null || metric.isBlank()) {
            return cache.get("", k -> consoleDb.read("reading the metrics with the most series", this::top));
        }
        if (metric.length() > 1024) {
            throw new InvalidRequestException("metric name longer than 1024 characters");
        }
        return cache.get(metric, k -> consoleDb.read("reading the labels of " + k, (c, schema) -> metric(c, schema, k)));
    }

    /** Series in the store (the status page's total too). */
    static long seriesTotal(Connection c, String schema) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + schema + ".series");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Top top(Connection c, String schema) throws SQLException {
        long total = seriesTotal(c, schema);
        List<MetricSeries> metrics = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT metric_name, count(*) FROM " + schema
                + ".series GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?")) {
            ps.setInt(1, topMetrics);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    metrics.add(new MetricSeries(rs.getString(1), rs.getLong(2)));
                }
            }
        }
        return new Top(total, metrics, topMetrics, System.currentTimeMillis());
    }

    private Metric metric(Connection c, String schema, String metric) throws SQLException {
        long series;
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + schema + ".series WHERE metric_name = ?")) {
            ps.setString(1, metric);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                series = rs.getLong(1);
            }
        }
        // per label: how many values, and the five values with the most series
        List<LabelValues> labels = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("WITH s AS (SELECT labels FROM " + schema
                + ".series WHERE metric_name = ? LIMIT ?),"
                + " p AS (SELECT l.key, l.value, count(*) AS n FROM s, jsonb_each_text(s.labels) l GROUP BY 1, 2),"
                + " r AS (SELECT key, value, n, count(*) OVER (PARTITION BY key) AS values,"
                + "   row_number() OVER (PARTITION BY key ORDER BY n DESC, value) AS rank FROM p)"
                + " SELECT key, values, value, n FROM r WHERE rank <= 5 ORDER BY values DESC, key, rank")) {
            ps.setString(1, metric);
            ps.setInt(2, maxSeries);
            try (ResultSet rs = ps.executeQuery()) {
                LabelValues current = null;
                while (rs.next()) {
                    if (current == null || !current.name().equals(rs.getString(1))) {
                        current = new LabelValues(rs.getString(1), rs.getLong(2), new ArrayList<>());
                        labels.add(current);
                    }
                    current.top().add(new LabelValue(rs.getString(3), rs.getLong(4)));
                }
            }
        }
        long scanned = Math.min(series, maxSeries);
        return new Metric(metric, series, scanned, scanned < series, labels, System.currentTimeMillis());
    }
}
