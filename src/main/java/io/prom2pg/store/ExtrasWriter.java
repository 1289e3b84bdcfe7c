package io.prom2pg.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;


/**
 * Stores what a request carries besides float samples: native histograms (as sent, lossless),
 * exemplars, and series start timestamps, each idempotently ({@code ON CONFLICT DO NOTHING}).
 * Doubles travel inside a float8[] parameter, which pgjdbc sends in binary, so NaN payloads such
 * as stale markers keep their bits.
 */
public class ExtrasWriter {

    private DataSource dataSource;
    private String schema = "prom2pg";
    private WriteListener listener = WriteListener.NONE;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setListener(WriteListener listener) {
        this.listener = listener == null ? WriteListener.NONE : listener;
    }

    /** Writes the batch's histograms, exemplars and start times, if any, in one transaction. */
    public void write(WriteBatch batch) {
        if (!batch.hasExtras()) {
            return;
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                histograms(c, batch);
                exemplars(c, batch);
                starts(c, batch);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("writing histograms, exemplars or start times failed: " + Sql.oneLine(e), e);
        }
        listener.extrasWritten(batch.histograms().size(), batch.exemplars().size());
    }

    private void histograms(Connection c, WriteBatch batch) throws SQLException {
        if (batch.histograms().isEmpty()) {
            return;
        }
        // d = {count_float, sum, zero_threshold, zero_count_float}
        String sql = "INSERT INTO " + schema + ".histograms (time, series_id, count_int, count_float, sum, schema,"
                + " zero_threshold, zero_count_int, zero_count_float, negative_spans, negative_deltas, negative_counts,"
                + " positive_spans, positive_deltas, positive_counts, reset_hint, custom_values)"
                + " SELECT CAST(? AS timestamptz), CAST(? AS bigint), CAST(? AS bigint),"
                + " CASE WHEN CAST(? AS boolean) THEN d[1] END, d[2], CAST(? AS integer), d[3], CAST(? AS bigint),"
                + " CASE WHEN CAST(? AS boolean) THEN d[4] END, CAST(? AS int4[]), CAST(? AS int8[]), CAST(? AS float8[]),"
                + " CAST(? AS int4[]), CAST(? AS int8[]), CAST(? AS float8[]), CAST(? AS smallint), CAST(? AS float8[])"
                + " FROM (SELECT CAST(? AS float8[]) AS d) AS p"
                + " ON CONFLICT (series_id, time) DO NOTHING";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (HistogramRow h : batch.histograms()) {
                int i = 1;
                ps.setObject(i++, time(h.time()));
                ps.setLong(i++, h.seriesId());
                setLong(ps, i++, h.countInt());
                ps.setBoolean(i++, h.countFloat() != null);
                ps.setInt(i++, h.schema());
                setLong(ps, i++, h.zeroCountInt());
                ps.setBoolean(i++, h.zeroCountFloat() != null);
                ps.setObject(i++, h.negativeSpans());
                ps.setObject(i++, h.negativeDeltas());
                ps.setObject(i++, h.negativeCounts());
                ps.setObject(i++, h.positiveSpans());
                ps.setObject(i++, h.positiveDeltas());
                ps.setObject(i++, h.positiveCounts());
                ps.setShort(i++, (short) h.resetHint());
                ps.setObject(i++, h.customValues());
                ps.setObject(i, new double[] {
                    h.countFloat() == null ? 0 : h.countFloat(), h.sum(), h.zeroThreshold(),
                    h.zeroCountFloat() == null ? 0 : h.zeroCountFloat()});
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private void exemplars(Connection c, WriteBatch batch) throws SQLException {
        if (batch.exemplars().isEmpty()) {
            return;
        }
        String sql = "INSERT INTO " + schema + ".exemplars (time, series_id, value, labels)"
                + " SELECT CAST(? AS timestamptz), CAST(? AS bigint), (CAST(? AS float8[]))[1], CAST(? AS jsonb)"
                + " ON CONFLICT (series_id, time) DO NOTHING";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (ExemplarRow e : batch.exemplars()) {
                ps.setObject(1, time(e.time()));
                ps.setLong(2, e.seriesId());
                ps.setObject(3, new double[] {e.value()});
                ps.setString(4, SeriesStore.json(e.names(), e.values()));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private void starts(Connection c, WriteBatch batch) throws SQLException {
        if (batch.startSeries().length == 0) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + ".series_starts (series_id, start_time)"
                + " SELECT s, timestamptz 'epoch' + t * interval '1 millisecond'"
                + " FROM unnest(CAST(? AS int8[]), CAST(? AS int8[])) AS u(s, t) ON CONFLICT DO NOTHING")) {
            ps.setObject(1, batch.startSeries());
            ps.setObject(2, batch.startTimes());
            ps.execute();
        }
    }

    private static OffsetDateTime time(long millis) {
        return OffsetDateTime.ofInstant(Instant.ofEpochMilli(millis), ZoneOffset.UTC);
    }

    private static void setLong(PreparedStatement ps, int i, Long value) throws SQLException {
        if (value == null) {
            ps.setNull(i, java.sql.Types.BIGINT);
        } else {
            ps.setLong(i, value);
        }
    }
}
