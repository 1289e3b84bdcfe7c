package io.prom2pg.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;

/**
 * How much disk each tier takes and how far sealing is behind, read from the catalog: the head
 * ({@code samples}: its partitions, or a hypertable's chunks) and the sealed tier
 * ({@code sample_blocks}, or a hypertable's compressed chunks), each with its indexes and TOAST.
 */
public class StorageSizes {

    /**
     * Bytes of each tier, and when the oldest window the head still holds ended (null: none),
     * the window it is sealed with ({@link Sealer#windowEnd}) or, on TimescaleDB, its chunk.
     */
    public record Sizes(long headBytes, long sealedBytes, Instant oldestUnsealedEnd) {
    }

    private DataSource dataSource;
    private String schema = "prom2pg";

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public Sizes read() {
        try (Connection c = dataSource.getConnection()) {
            if (Partitions.samplesPartitioned(c, schema)) {
                List<Partitions.HeadPartition> head = Partitions.head(c, schema);
                return new Sizes(bytes(c, "samples"), bytes(c, "sample_blocks"),
                        head.isEmpty() ? null : Instant.ofEpochMilli(Sealer.windowEnd(head.get(0))));
            }
            // TimescaleDB: the sealed tier is the compressed chunks, which are not the hypertable's
            // children; the head is what its chunks hold uncompressed
            try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(sum(s.after_compression_total_bytes), 0)::bigint,"
                    + " (SELECT k.range_end FROM timescaledb_information.chunks k"
                    + "   WHERE k.hypertable_schema = ? AND k.hypertable_name = 'samples' AND NOT k.is_compressed"
                    + "   ORDER BY k.range_start LIMIT 1)"
                    + " FROM " + TimescaleDb.schema(c) + ".chunk_compression_stats(?::regclass) s")) {
                ps.setString(1, schema);
                ps.setString(2, schema + ".samples");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    java.time.OffsetDateTime oldest = rs.getObject(2, java.time.OffsetDateTime.class);
                    return new Sizes(bytes(c, "samples"), bytes(c, "sample_blocks") + rs.getLong(1),
                            oldest == null ? null : oldest.toInstant());
                }
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("reading the storage sizes failed: " + Sql.oneLine(e), e);
        }
    }

    /** A table of the schema and its bytes, partitions (or chunks), indexes and TOAST included. */
    public record TableSize(String table, long bytes) {
    }

    /** Every table of the schema that is not itself a partition, largest first. */
    public static List<TableSize> tables(Connection c, String schema) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT t.relname, (pg_total_relation_size(t.oid) + coalesce((SELECT"
                + " sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = t.oid), 0))::bigint AS bytes"
                + " FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace"
                + " WHERE n.nspname = ? AND t.relkind IN ('r', 'p') AND NOT t.relispartition ORDER BY bytes DESC, t.relname")) {
            ps.setString(1, schema);
            List<TableSize> tables = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableSize(rs.getString(1), rs.getLong(2)));
                }
            }
            return tables;
        }
    }

    /** The table and everything under it (partitions or chunks), indexes and TOAST included. */
    private long bytes(Connection c, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(sum(pg_total_relation_size(r)), 0)::bigint"
                + " FROM (SELECT ?::regclass AS r UNION ALL SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = ?::regclass) t")) {
            ps.setString(1, schema + "." + table);
            ps.setString(2, schema + "." + table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
