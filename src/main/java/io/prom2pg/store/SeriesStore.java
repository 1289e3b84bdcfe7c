package io.prom2pg.store;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
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

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.prom2pg.failure.StorageUnavailableException;

/**
 * The series table: finds rows by key, inserts new ones, counts a metric's series. Safe with
 * several prom2pg instances on one database: rows are inserted in key order (so concurrent
 * writers cannot deadlock) with {@code ON CONFLICT DO NOTHING}. Which series to look up or create,
 * and when, is {@code series.SeriesCreator}'s business.
 */
public class SeriesStore {

    /** One series to create: its 16-byte key, metric name and labels without {@code __name__}. */
    public record NewSeries(byte[] key, String metricName, String[] names, String[] values) {
    }

    /** The id of a series not found, or not inserted because it exists. */
    public static final long NOT_FOUND = -1L;

    private static final JsonFactory JSON = new JsonFactory();

    private DataSource dataSource;
    private String schema = "prom2pg";

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /** The id of each series, in the order given; {@link #NOT_FOUND} for the ones not stored. */
    public long[] find(List<NewSeries> series) {
        long[] ids = new long[series.size()];
        Arrays.fill(ids, NOT_FOUND);
        if (series.isEmpty()) {
            return ids;
        }
        byte[][] keys = new byte[series.size()][];
        Map<ByteBuffer, Integer> at = new HashMap<>(keys.length * 2);
        for (int i = 0; i < keys.length; i++) {
            keys[i] = series.get(i).key();
            at.put(ByteBuffer.wrap(keys[i]), i);
        }
        String sql = "SELECT id, labels_key FROM " + schema + ".series WHERE labels_key = ANY (?::bytea[])";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bytea", keys));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Integer i = at.get(ByteBuffer.wrap(rs.getBytes(2)));
                    if (i != null) {
                        ids[i] = rs.getLong(1);
                    }
                }
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("looking up series failed: " + Sql.oneLine(e), e);
        }
        return ids;
    }

    /**
     * Inserts the series (distinct keys) in key order, in one statement; returns the id of each one
     * inserted, in the order given, and {@link #NOT_FOUND} for the ones that existed already.
     */
    public long[] insert(List<NewSeries> series) {
        long[] ids = new long[series.size()];
        Arrays.fill(ids, NOT_FOUND);
        if (series.isEmpty()) {
            return ids;
        }
        List<NewSeries> sorted = new ArrayList<>(series);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.key(), b.key()));
        int n = sorted.size();
        Map<ByteBuffer, Integer> at = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            at.put(ByteBuffer.wrap(series.get(i).key()), i);
        }
        byte[][] keys = new byte[n][];
        String[] metrics = new String[n];
        String[] labels = new String[n];
        for (int i = 0; i < n; i++) {
            NewSeries s = sorted.get(i);
            keys[i] = s.key();
            metrics[i] = s.metricName();
            labels[i] = json(s.names(), s.values());
        }
        String sql = "INSERT INTO " + schema + ".series (labels_key, metric_name, labels)"
                + " SELECT k, m, CAST(l AS jsonb) FROM unnest(?::bytea[], ?::text[], ?::text[]) AS u(k, m, l)"
                + " ON CONFLICT (labels_key) DO NOTHING RETURNING id, labels_key";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bytea", keys));
            ps.setArray(2, c.createArrayOf("text", metrics));
            ps.setArray(3, c.createArrayOf("text", labels));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Integer i = at.get(ByteBuffer.wrap(rs.getBytes(2)));
                    if (i != null) {
                        ids[i] = rs.getLong(1);
                    }
                }
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("creating series failed: " + Sql.oneLine(e), e);
        }
        return ids;
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
}
