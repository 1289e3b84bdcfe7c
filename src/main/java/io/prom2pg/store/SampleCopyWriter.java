package io.prom2pg.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;

import javax.sql.DataSource;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * Writes a chunk of samples with PostgreSQL's binary {@code COPY}, the fastest way in, straight
 * into the chunk's daily partition. COPY has no conflict handling: when a sample is already
 * stored the whole COPY fails, nothing of it is written, and {@link DuplicateSamplesException}
 * tells the route to take the idempotent {@code INSERT ... ON CONFLICT DO NOTHING} path.
 *
 * <p>Values are sent as their 8 raw bytes, so NaN payloads (stale markers) are kept.
 */
public class SampleCopyWriter {

    private static final byte[] HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};
    private static final int ROW_BYTES = 2 + 3 * (4 + 8);
    /** Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01. */
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
    private static final String UNIQUE_VIOLATION = "23505";

    private DataSource dataSource;
    private String schema = "prom2pg";
    private volatile Boolean partitioned;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /** Copies the chunk and returns the number of rows written (all of them). */
    public int write(SampleChunk chunk) {
        byte[] data = encode(chunk);
        try (Connection c = dataSource.getConnection()) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            String sql = "COPY " + target(c, chunk) + " (time, series_id, value) FROM STDIN (FORMAT binary)";
            CopyIn in = copy.copyIn(sql);
            try {
                in.writeToCopy(data, 0, data.length);
                return (int) in.endCopy();
            } finally {
                if (in.isActive()) {
                    in.cancelCopy();
                }
            }
        } catch (SQLException e) {
            if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw new DuplicateSamplesException("chunk of " + chunk.getSize() + " samples has samples already stored");
            }
            throw new StorageUnavailableException("copying samples failed: " + Sql.oneLine(e), e);
        }
    }

    /** The chunk's own partition on plain PostgreSQL; the samples table itself on TimescaleDB. */
    private String target(Connection c, SampleChunk chunk) throws SQLException {
        Boolean p = partitioned;
        if (p == null) {
            try (var st = c.createStatement();
                 var rs = st.executeQuery("SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = '" + schema + ".samples'::regclass")) {
                rs.next();
                p = rs.getBoolean(1);
            }
            partitioned = p;
        }
        if (!p) {
            return schema + ".samples";
        }
        return schema + ".samples_" + LocalDate.ofEpochDay(chunk.getWindow()).format(DateTimeFormatter.BASIC_ISO_DATE);
    }

    /** The COPY binary format of a chunk: header, one 3-field tuple per sample, trailer. */
    public static byte[] encode(SampleChunk chunk) {
        int n = chunk.getSize();
        long[] times = chunk.getTimes();
        long[] series = chunk.getSeries();
        double[] values = chunk.getValues();
        byte[] out = new byte[HEADER.length + n * ROW_BYTES + 2];
        System.arraycopy(HEADER, 0, out, 0, HEADER.length);
        int at = HEADER.length;
        for (int i = 0; i < n; i++) {
            at = putShort(out, at, (short) 3);
            at = putInt(out, at, 8);
            at = putLong(out, at, times[i] * 1000 - PG_EPOCH_MICROS);
            at = putInt(out, at, 8);
            at = putLong(out, at, series[i]);
            at = putInt(out, at, 8);
            at = putLong(out, at, Double.doubleToRawLongBits(values[i]));
        }
        putShort(out, at, (short) -1);
        return out;
    }

    private static int putShort(byte[] b, int at, short v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
        return at + 2;
    }

    private static int putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
        return at + 4;
    }

    private static int putLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
        return at + 8;
    }
}
