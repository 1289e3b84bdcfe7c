package io.prom2pg.store;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * Finds series rows by key and creates the missing ones, in bulk. Safe with several prom2pg
 * instances on one database: rows are inserted in key order with {@code ON CONFLICT DO NOTHING},
 * and keys another writer created meanwhile are read back by another statement.
 */
public class SeriesStore {

    /** One series to create: its 16-byte key, metric name and labels without {@code __name__}. */
    public record NewSeries(byte[] key, String metricName, String[] names, String[] values) {
    }

    private static final JsonFactory JSON = new JsonFactory();

    private DataSource dataSource;
    private String schema = "prom2pg";
    private Semaphore creators = new Semaphore(2);

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /**
     * How many requests may create series at once. New series all insert into the same index
     * pages (the id sequence, the metric name), so more concurrent creators mostly wait on each
     * other's page locks; a few, each with a whole request's misses, go faster.
     */
    public void setConcurrency(int concurrency) {
        this.creators = new Semaphore(Math.max(1, concurrency));
    }

    /**
     * Returns the database id of every given series, in the order given, creating the ones the
     * database does not have yet. {@code beforeCreating} sees those new series first and may
     * refuse them by throwing; then nothing is written.
     */
    public long[] resolve(List<NewSeries> series, Consumer<List<NewSeries>> beforeCreating) {
        if (series.isEmpty()) {
            return new long[0];
        }
        Map<Key, Long> ids = new HashMap<>(series.size() * 2);
        List<NewSeries> created = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            List<byte[]> keys = new ArrayList<>(series.size());
            for (NewSeries s : series) {
                keys.add(s.key());
            }
            select(c, keys, ids);
        } catch (SQLException e) {
            throw new StorageUnavailableException("looking up series failed: " + Sql.oneLine(e), e);
        }
        for (NewSeries s : series) {
            if (!ids.containsKey(new Key(s.key()))) {
                created.add(s);
            }
        }
        if (!created.isEmpty()) {
            // no connection is held here: the check may need one of its own
            beforeCreating.accept(created);
            try (Connection c = dataSource.getConnection()) {
                create(c, created, ids);
            } catch (SQLException e) {
                throw new StorageUnavailableException("creating series failed: " + Sql.oneLine(e), e);
            }
        }
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

    /** Inserts the series in key order; ones another writer created meanwhile are read back. */
    private void create(Connection c, List<NewSeries> series, Map<Key, Long> ids) throws SQLException {
        List<NewSeries> sorted = new ArrayList<>(series);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.key(), b.key()));
        try {
            creators.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageUnavailableException("interrupted while waiting to create series");
        }
        try {
            insert(c, sorted, ids);
            List<byte[]> missing = new ArrayList<>();
            for (NewSeries s : sorted) {
                if (!ids.containsKey(new Key(s.key()))) {
                    missing.add(s.key());
                }
            }
            if (!missing.isEmpty()) {
                select(c, missing, ids);
            }
        } finally {
            creators.release();
        }
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

    private void insert(Connection c, List<NewSeries> sorted, Map<Key, Long> ids) throws SQLException {
        int n = sorted.size();
        byte[][] keys = new byte[n][];
        String[] metrics = new String[n];
        String[] labels = new String[n];
        for (int i = 0; i < n; i++) {
            NewSeries s = sorted.get(i);
            keys[i] = s.key();
            metrics[i] = s.metricName();
            labels[i] = json(s.names(), s.values());
        }
        // rows go in key order, so that concurrent writers of overlapping series cannot deadlock
        String sql = "INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                + " SELECT k, m, CAST(l AS jsonb) FROM unnest(?::bytea[], ?::text[], ?::text[]) AS u(k, m, l)"
                + " ON CONFLICT (labels_key) DO NOTHING RETURNING id, labels_key";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bytea", keys));
            ps.setArray(2, c.createArrayOf("text", metrics));
            ps.setArray(3, c.createArrayOf("text", labels));
            readIds(ps, ids);
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

    private void select(Connection c, List<byte[]> keys, Map<Key, Long> ids) throws SQLException {
        String sql = "SELECT id, labels_key FROM " + schema + ".series WHERE labels_key = ANY (?::bytea[])";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            Array array = c.createArrayOf("bytea", keys.toArray(new byte[0][]));
            ps.setArray(1, array);
            readIds(ps, ids);
        }
    }

    private static void readIds(PreparedStatement ps, Map<Key, Long> ids) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                ids.put(new Key(rs.getBytes(2)), rs.getLong(1));
            }
        }
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
