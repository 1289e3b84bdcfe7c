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
     * the end of the hour it is sealed with ({@link Sealer#sealableFrom}) or, on TimescaleDB, its chunk.
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
                        head.isEmpty() ? null : Instant.ofEpochMilli(Sealer.sealableFrom(head.get(0))));
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
        try (PreparedStatement ps = c.prepareStatement("WITH RECURSIVE tree(top, r) AS (SELECT t.oid, t.oid"
                + " FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace"
                + " WHERE n.nspname = ? AND t.relkind IN ('r', 'p') AND NOT t.relispartition"
                + " UNION ALL SELECT tree.top, i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.r)"
                + " SELECT c.relname, sum(pg_total_relation_size(tree.r))::bigint AS bytes FROM tree"
                + " JOIN pg_class c ON c.oid = tree.top GROUP BY c.relname ORDER BY bytes DESC, c.relname")) {
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
        // a day's block partition is itself partitioned by window: every level counts
        try (PreparedStatement ps = c.prepareStatement("WITH RECURSIVE t(r) AS (SELECT ?::regclass"
                + " UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN t ON i.inhparent = t.r)"
                + " SELECT coalesce(sum(pg_total_relation_size(r)), 0)::bigint FROM t")) {
            ps.setString(1, schema + "." + table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
