package io.prom2pg.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Map;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;

/**
 * Stores a request's samples and metadata: each chunk into its time window's partition (made when
 * missing), by binary COPY together with concurrent requests' chunks ({@link SampleCopyWriter}),
 * or, when COPY meets a sample already stored (a retried request) or {@code method} is
 * {@code insert}, by {@code INSERT ... ON CONFLICT DO NOTHING}, so a retry adds nothing. Returns
 * once every chunk is committed; a chunk that fails fails the request (the chunks before it stay
 * stored, and the sender's retry skips them). A window the {@link Sealer} may have sealed is
 * written by the insert that also skips what its sealed blocks hold, so late samples land once.
 */
public class SampleWriter {

    /**
     * undefined_table (COPY into a dropped partition), check_violation (no partition for the row),
     * deadlock_detected (a late write that made a sealed window's partition again met the seal of it:
     * the write was rolled back, the seal goes on): written once more, the same way.
     */
    private static final java.util.Set<String> WRITE_AGAIN = java.util.Set.of("42P01", "23514", "40P01");

    private DataSource dataSource;
    private String schema = "prom2pg";
    private Partitions partitions;
    private SampleCopyWriter copyWriter;
    private boolean copy = true;
    private WriteListener listener = WriteListener.NONE;
    private Sealer sealer;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setPartitions(Partitions partitions) {
        this.partitions = partitions;
    }

    public void setCopyWriter(SampleCopyWriter copyWriter) {
        this.copyWriter = copyWriter;
    }

    /** {@code copy} (binary COPY, the idempotent insert on a duplicate) or {@code insert} (always the insert); decided once. */
    public void setMethod(String method) {
        switch (method.strip()) {
            case "copy" -> copy = true;
            case "insert" -> copy = false;
            default -> throw new IllegalArgumentException("prom2pg.write.method must be copy or insert, not " + method);
        }
    }

    /** Tells which windows may be sealed already: their samples are checked against the blocks first. */
    public void setSealer(Sealer sealer) {
        this.sealer = sealer;
    }

    public void setListener(WriteListener listener) {
        this.listener = listener == null ? WriteListener.NONE : listener;
    }

    /** Writes the batch's samples and metadata; returns what the request is acknowledged with. */
    public WriteResult write(WriteBatch batch) {
        for (SampleChunk chunk : batch.chunks()) {
            int inserted;
            try {
                inserted = write(chunk);
            } catch (StorageUnavailableException e) {
                if (!WRITE_AGAIN.contains(Sql.state(e))) {
                    throw e;
                }
                // its partition was sealed and dropped (here or by another instance): made again, written once more
                partitions.forget(chunk.getWindow());
                if (sealer != null) {
                    sealer.recheck(chunk.getWindow());
                }
                inserted = write(chunk);
            }
            listener.written(inserted, chunk.getSize());
        }
        if (!batch.metadata().isEmpty()) {
            upsert(batch.metadata());
            listener.metadataWritten(batch.metadata().getSize());
        }
        return batch.acknowledged();
    }

    private int write(SampleChunk chunk) {
        partitions.ensure(chunk);
        if (sealer != null && sealer.mayBeSealed(chunk.getWindow())) {
            return insert(chunk, true); // late, or a retry of what is sealed: not twice
        }
        if (copy) {
            try {
                return copyWriter.write(chunk);
            } catch (DuplicateSamplesException e) {
                return insert(chunk, false);
            }
        }
        return insert(chunk, false);
    }

    /**
     * The idempotent insert of one chunk: samples already stored are skipped (with {@code sealed},
     * those in the window's sealed blocks too); returns the rows inserted.
     */
    int insert(SampleChunk chunk, boolean sealed) {
        try (Connection c = dataSource.getConnection()) {
            return sealed ? Sql.inTransaction(c, () -> insertLate(c, chunk))
                    : insert(c, chunk.getTimes(), chunk.getSeries(), chunk.getValues());
        } catch (SQLException e) {
            throw new StorageUnavailableException("inserting samples failed: " + Sql.oneLine(e), e);
        }
    }

    /**
     * A chunk of a window that may be sealed, in the transaction of {@code c}: the times its
     * series' blocks hold in the chunk's time range are read (only those blocks, each once, and
     * decoded here), and the samples at other times inserted. The window's partition is held
     * first: a seal of it waits for this transaction (writes are waited for 2 s, then the seal
     * tries again at its next run), and one that committed before dropped it (undefined_table:
     * made again and written once more), so no sample moves into the blocks between the check and
     * the insert. Decoding each block in SQL and anti-joining the chunk took 4,378 samples/s,
     * 223 µs of PostgreSQL's CPU a sample, against 64k into the head (2,000 series of 4-hour
     * blocks, bench/sealing.sh): every sample checked decoded its series' whole block.
     */
    private int insertLate(Connection c, SampleChunk chunk) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("LOCK TABLE " + partitions.table(chunk.getWindow()) + " IN ROW EXCLUSIVE MODE");
        }
        long[] times = chunk.getTimes();
        long[] series = chunk.getSeries();
        double[] values = chunk.getValues();
        long[] range = chunk.timeRange();
        Map<Long, StoredSamples.Series> blocks = StoredSamples.sealedTimes(c, schema, Arrays.stream(series).distinct().toArray(), range[0], range[1]);
        if (blocks.isEmpty()) {
            return insert(c, times, series, values);
        }
        int kept = 0;
        long[] t = new long[times.length];
        long[] s = new long[times.length];
        double[] v = new double[times.length];
        for (int i = 0; i < times.length; i++) {
            StoredSamples.Series stored = blocks.get(series[i]);
            if (stored == null || !stored.contains(times[i])) {
                t[kept] = times[i];
                s[kept] = series[i];
                v[kept++] = values[i];
            }
        }
        return kept == 0 ? 0 : insert(c, Arrays.copyOf(t, kept), Arrays.copyOf(s, kept), Arrays.copyOf(v, kept));
    }

    /** Inserts the samples, skipping those the head holds already. */
    private int insert(Connection c, long[] times, long[] series, double[] values) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + ".samples (time, series_id, value)"
                + " SELECT to_timestamp(CAST(t AS float8) / 1000), s, v"
                + " FROM unnest(CAST(? AS int8[]), CAST(? AS int8[]), CAST(? AS float8[])) AS u(t, s, v)"
                + " ON CONFLICT DO NOTHING")) {
            // arrays of primitives go in binary: NaN payloads (stale markers) keep their bits
            ps.setObject(1, times);
            ps.setObject(2, series);
            ps.setObject(3, values);
            return ps.executeUpdate();
        }
    }

    /** Metadata as the newest request says it; a row is rewritten only when something changed. */
    private void upsert(MetadataBatch m) {
        String sql = "INSERT INTO " + schema + ".metric_metadata AS m (metric_family_name, type, help, unit)"
                + " SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]))"
                + " ON CONFLICT (metric_family_name) DO UPDATE"
                + " SET type = excluded.type, help = excluded.help, unit = excluded.unit, updated_at = now()"
                + " WHERE (m.type, m.help, m.unit) IS DISTINCT FROM (excluded.type, excluded.help, excluded.unit)";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("text", m.getNames()));
            ps.setArray(2, c.createArrayOf("text", m.getTypes()));
            ps.setArray(3, c.createArrayOf("text", m.getHelps()));
            ps.setArray(4, c.createArrayOf("text", m.getUnits()));
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageUnavailableException("storing metric metadata failed: " + Sql.oneLine(e), e);
        }
    }
}
