package io.prom2pg.store;

import io.prom2pg.failure.StorageUnavailableException;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * Finds series rows by key and creates the missing ones, in bulk. Safe with several prom2pg
 * instances on one database: rows are inserted in key order with {@code ON CONFLICT DO NOTHING},
 * and keys another writer created meanwhile are read back by another statement.
 *
 * <p>Whether to look the series up before inserting them is decided from the last call: after a
 * restart most series missing from the cache exist, and one lookup is cheaper than an insert
 * that meets them all; on a first pass most are new, and the insert alone is cheaper than a
 * lookup and an insert (BENCHMARKS.md).
 */
public class SeriesStore {

    /** One series to create: its 16-byte key, metric name and labels without {@code __name__}. */
    public record NewSeries(byte[] key, String metricName, String[] names, String[] values) {
    }

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

    private static final JsonFactory JSON = new JsonFactory();

    private DataSource dataSource;
    private String schema = "prom2pg";
    private Semaphore creators = new Semaphore(2);
    /** True when most series of the last call existed already. */
    private volatile boolean lookUpFirst = true;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
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
     * {@link #resolve resolves} them (looks them up, creates the new ones), holding one of the
     * {@link #setConcurrency} permits. Requests waiting for a permit have not yet turned their
     * series into strings, so they hold little memory while they wait.
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
     * database does not have yet. {@code limits} may refuse new series by throwing; then nothing
     * of them is written.
     */
    public long[] resolve(List<NewSeries> series, Limits limits) {
        if (series.isEmpty()) {
            return new long[0];
        }
        Map<Key, NewSeries> distinct = new LinkedHashMap<>(series.size() * 2);
        for (NewSeries s : series) {
            distinct.putIfAbsent(new Key(s.key()), s);
        }
        List<NewSeries> all = new ArrayList<>(distinct.values());
        Map<Key, Long> ids = new HashMap<>(all.size() * 2);
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
            lookUp(all, ids);
            toCreate = missing(all, ids);
            if (!toCreate.isEmpty()) {
                limits.check(toCreate);
            }
        }
        int existedBefore = ids.size();
        if (!toCreate.isEmpty()) {
            existedBefore += create(toCreate, ids, limits);
        }
        lookUpFirst = existedBefore * 2 > all.size();

        long[] result = new long[series.size()];
        for (int i = 0; i < result.length; i++) {
            Long id = ids.get(new Key(series.get(i).key()));
            if (id == null) {
                throw new StorageUnavailableException("series " + series.get(i).metricName() + " was neither created nor found");
            }
            result[i] = id;
        }
        return result;
    }

    /** Creates the series; returns how many of them existed already. */
    private int create(List<NewSeries> series, Map<Key, Long> ids, Limits limits) {
        try (Connection c = dataSource.getConnection()) {
            // check() has read the counts of these series' metrics already: created() needs no connection
            limits.created(insert(c, series, ids));
            List<NewSeries> rest = missing(series, ids);
            // created by another writer meanwhile, or (inserting first) there all along
            lookUp(c, rest, ids);
            return rest.size();
        } catch (SQLException e) {
            throw new StorageUnavailableException("creating series failed: " + Sql.oneLine(e), e);
        }
    }

    /** Inserts the series in key order (so concurrent writers cannot deadlock); returns the ones inserted. */
    private List<NewSeries> insert(Connection c, List<NewSeries> series, Map<Key, Long> ids) throws SQLException {
        List<NewSeries> sorted = new ArrayList<>(series);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.key(), b.key()));
        String sql = "INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                + " SELECT k, m, CAST(l AS jsonb) FROM unnest(?::bytea[], ?::text[], ?::text[]) AS u(k, m, l)"
                + " ON CONFLICT (labels_key) DO NOTHING RETURNING id, labels_key";
        int n = sorted.size();
        Map<Key, NewSeries> byKey = new HashMap<>(n * 2);
        byte[][] keys = new byte[n][];
        String[] metrics = new String[n];
        String[] labels = new String[n];
        for (int i = 0; i < n; i++) {
            NewSeries s = sorted.get(i);
            byKey.put(new Key(s.key()), s);
            keys[i] = s.key();
            metrics[i] = s.metricName();
            labels[i] = json(s.names(), s.values());
        }
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bytea", keys));
            ps.setArray(2, c.createArrayOf("text", metrics));
            ps.setArray(3, c.createArrayOf("text", labels));
            List<NewSeries> created = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Key key = new Key(rs.getBytes(2));
                    ids.put(key, rs.getLong(1));
                    created.add(byKey.get(key));
                }
            }
            return created;
        }
    }

    private void lookUp(List<NewSeries> series, Map<Key, Long> ids) {
        try (Connection c = dataSource.getConnection()) {
            lookUp(c, series, ids);
        } catch (SQLException e) {
            throw new StorageUnavailableException("looking up series failed: " + Sql.oneLine(e), e);
        }
    }

    /** Finds the existing rows of the series, by key. */
    private void lookUp(Connection c, List<NewSeries> series, Map<Key, Long> ids) throws SQLException {
        if (series.isEmpty()) {
            return;
        }
        byte[][] keys = new byte[series.size()][];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = series.get(i).key();
        }
        String sql = "SELECT id, labels_key FROM " + schema + ".series WHERE labels_key = ANY (?::bytea[])";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bytea", keys));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.put(new Key(rs.getBytes(2)), rs.getLong(1));
                }
            }
        }
    }

    private static List<NewSeries> missing(List<NewSeries> series, Map<Key, Long> ids) {
        List<NewSeries> missing = new ArrayList<>();
        for (NewSeries s : series) {
            if (!ids.containsKey(new Key(s.key()))) {
                missing.add(s);
            }
        }
        return missing;
    }

    /** How many series a metric has. */
    public long countSeries(String metricName) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + schema + ".series WHERE metric_name = ?")) {
            ps.setString(1, metricName);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("counting the series of " + metricName + " failed: " + Sql.oneLine(e), e);
        }
    }

    /** The labels as a JSON object, written by Jackson (escaping included). */
    public static String json(String[] names, String[] values) {
        StringWriter out = new StringWriter(32 * (names.length + 1));
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            for (int i = 0; i < names.length; i++) {
                g.writeStringField(names[i], values[i]);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** byte[] with value equality, for map keys. */
    private record Key(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }
}
