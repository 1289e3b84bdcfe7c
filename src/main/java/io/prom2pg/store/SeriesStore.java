package io.prom2pg.store;

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

import javax.sql.DataSource;

/**
 * Creates series rows in bulk and reads their ids. Safe with several prom2pg instances on one
 * database: rows are inserted in key order with {@code ON CONFLICT DO NOTHING}, and keys another
 * writer created meanwhile are read back by a second statement.
 */
public class SeriesStore {

    /** One series to create: its 16-byte key, metric name and labels without {@code __name__}. */
    public record NewSeries(byte[] key, String metricName, String[] names, String[] values) {
    }

    private DataSource dataSource;
    private String schema = "prom2pg";

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /**
     * Returns the database id of every given series, creating the missing ones, in the order
     * given.
     */
    public long[] resolve(List<NewSeries> series) {
        if (series.isEmpty()) {
            return new long[0];
        }
        List<NewSeries> sorted = new ArrayList<>(series);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.key(), b.key()));
        Map<Key, Long> ids = new HashMap<>(series.size() * 2);
        try (Connection c = dataSource.getConnection()) {
            insert(c, sorted, ids);
            if (ids.size() < series.size()) {
                List<byte[]> missing = new ArrayList<>();
                for (NewSeries s : sorted) {
                    if (!ids.containsKey(new Key(s.key()))) {
                        missing.add(s.key());
                    }
                }
                select(c, missing, ids);
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("creating series failed: " + Sql.oneLine(e), e);
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

    private void insert(Connection c, List<NewSeries> sorted, Map<Key, Long> ids) throws SQLException {
        int n = sorted.size();
        Integer[] idx = new Integer[n];
        byte[][] keys = new byte[n][];
        String[] metrics = new String[n];
        List<Integer> labelIdx = new ArrayList<>();
        List<String> labelNames = new ArrayList<>();
        List<String> labelValues = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            NewSeries s = sorted.get(i);
            idx[i] = i;
            keys[i] = s.key();
            metrics[i] = s.metricName();
            for (int j = 0; j < s.names().length; j++) {
                labelIdx.add(i);
                labelNames.add(s.names()[j]);
                labelValues.add(s.values()[j]);
            }
        }
        String sql = "WITH k AS (SELECT * FROM unnest(?::int4[], ?::bytea[], ?::text[]) AS k(idx, key, metric)),"
                + " l AS (SELECT idx, jsonb_object_agg(name, value) AS labels"
                + "       FROM unnest(?::int4[], ?::text[], ?::text[]) AS l(idx, name, value) GROUP BY idx)"
                + " INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                + " SELECT k.key, k.metric, coalesce(l.labels, '{}'::jsonb) FROM k LEFT JOIN l USING (idx) ORDER BY k.idx"
                + " ON CONFLICT (labels_key) DO NOTHING RETURNING id, labels_key";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("int4", idx));
            ps.setArray(2, c.createArrayOf("bytea", keys));
            ps.setArray(3, c.createArrayOf("text", metrics));
            ps.setArray(4, c.createArrayOf("int4", labelIdx.toArray(new Integer[0])));
            ps.setArray(5, c.createArrayOf("text", labelNames.toArray(new String[0])));
            ps.setArray(6, c.createArrayOf("text", labelValues.toArray(new String[0])));
            readIds(ps, ids);
        }
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
