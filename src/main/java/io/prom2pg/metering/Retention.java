package io.prom2pg.metering;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.Partitions;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import io.prom2pg.store.TimescaleDb;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops raw samples older than {@code rawDays} by whole partitions (TimescaleDB: its
 * chunks), but never a day the metering rollups have not covered yet; deletes histograms,
 * exemplars and start times as old, and rollups older than {@code rollupDays}. Run by the
 * retention route.
 */
public class Retention implements org.apache.camel.spi.OnCamelContextStarted {

    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);

    private DataSource dataSource;
    private Partitions partitions;
    private String schema = "prom2pg";
    private int rawDays = 90;
    private int rollupDays = 730;
    private io.micrometer.core.instrument.Counter runs;
    private io.micrometer.core.instrument.Counter dropped;

    @Override
    public void onContextStarted(org.apache.camel.CamelContext context) {
        var registry = context.getRegistry().lookupByNameAndType("metricsRegistry", io.micrometer.core.instrument.MeterRegistry.class);
        if (registry != null) {
            runs = io.micrometer.core.instrument.Counter.builder("prom2pg.retention.runs")
                    .description("Retention runs").register(registry);
            dropped = io.micrometer.core.instrument.Counter.builder("prom2pg.retention.partitions.dropped")
                    .description("Raw sample partitions dropped by retention").register(registry);
        }
    }

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setPartitions(Partitions partitions) {
        this.partitions = partitions;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setRawDays(int rawDays) {
        this.rawDays = rawDays;
    }

    public void setRollupDays(int rollupDays) {
        this.rollupDays = rollupDays;
    }

    /** Applies retention as of now; returns the number of raw partitions dropped. */
    public int run() {
        return runAt(Instant.now());
    }

    /** One run as of this instant (a single name for each arity: Camel binds the routes' {@code run()} by name). */
    int runAt(Instant now) {
        OffsetDateTime rawCutoff = OffsetDateTime.ofInstant(now, ZoneOffset.UTC).truncatedTo(ChronoUnit.DAYS).minusDays(rawDays);
        OffsetDateTime rollupCutoff = OffsetDateTime.ofInstant(now, ZoneOffset.UTC).minusDays(rollupDays);
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            OffsetDateTime rolledUp = rolledUpTo(c);
            if (rolledUp == null) {
                // no rollup has run yet: keep every hour from the oldest metering sample on, so a
                // retention run that comes first cannot drop hours a report will need
                rolledUp = MeteringRollup.firstMeteringHour(c, schema);
            }
            OffsetDateTime cutoff = rolledUp != null && rolledUp.isBefore(rawCutoff) ? rolledUp : rawCutoff;
            int dropped = 0;
            if (Partitions.samplesPartitioned(c, schema)) {
                boolean concurrently = c.getMetaData().getDatabaseMajorVersion() >= 14;
                // the head's partitions and the sealed days that end on or before the cutoff
                List<String> drop = new java.util.ArrayList<>();
                for (Partitions.HeadPartition p : Partitions.head(c, schema)) {
                    if (p.end() <= cutoff.toInstant().toEpochMilli()) {
                        drop.add(p.table());
                    }
                }
                for (LocalDate day : Partitions.days(c, schema, "sample_blocks")) {
                    if (!day.plusDays(1).atStartOfDay().atOffset(ZoneOffset.UTC).isAfter(cutoff)) {
                        drop.add(Partitions.partition(schema, "sample_blocks", day));
                    }
                }
                for (String partition : drop) {
                    if (concurrently) {
                        detach(st, partition.contains(".sample_blocks_") ? "sample_blocks" : "samples", partition);
                    }
                    st.execute("DROP TABLE IF EXISTS " + partition);
                    dropped++;
                }
                delete(c, "sealed_windows", "\"end\"", cutoff);
            } else {
                // qualified by the extension's schema, which need not be on prom2pg's search path
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + TimescaleDb.schema(c)
                        + ".drop_chunks(?::regclass, older_than => ?)")) {
                    ps.setString(1, schema + ".samples");
                    ps.setObject(2, cutoff);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        dropped = rs.getInt(1);
                    }
                }
            }
            int other = delete(c, "histograms", "time", cutoff) + delete(c, "exemplars", "time", cutoff)
                    + delete(c, "series_starts", "start_time", cutoff);
            int rollups = delete(c, "metering_pod_rollup", "hour", rollupCutoff)
                    + delete(c, "metering_node_rollup", "hour", rollupCutoff)
                    + delete(c, "metering_pvc_rollup", "hour", rollupCutoff);
            if (dropped > 0 && partitions != null) {
                partitions.forget();
            }
            if (runs != null) {
                runs.increment();
                this.dropped.increment(dropped);
            }
            LOG.info("Retention: raw data before {} removed ({} partitions, {} other rows), rollups before {} ({} rows)",
                    cutoff.toLocalDate(), dropped, other, rollupCutoff.toLocalDate(), rollups);
            return dropped;
        } catch (SQLException e) {
            throw new StorageUnavailableException("retention failed: " + Sql.oneLine(e), e);
        }
    }

    /**
     * Detaches a partition without the exclusive lock on {@code samples} that dropping it attached
     * would take (PostgreSQL 14+): writes and reads go on meanwhile, and a long report does not
     * make retention fail on the lock timeout. A detach interrupted earlier is finished.
     */
    private void detach(Statement st, String parent, String partition) throws SQLException {
        String table = schema + "." + parent;
        try {
            st.execute("ALTER TABLE " + table + " DETACH PARTITION " + partition + " CONCURRENTLY");
        } catch (SQLException e) {
            if (e.getMessage() != null && e.getMessage().contains("pending detach")) {
                st.execute("ALTER TABLE " + table + " DETACH PARTITION " + partition + " FINALIZE");
            } else {
                throw e;
            }
        }
    }

    private OffsetDateTime rolledUpTo(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolled_up_to FROM " + schema + ".metering_rollup_state")) {
            return rs.next() ? rs.getObject(1, OffsetDateTime.class) : null;
        }
    }

    private int delete(Connection c, String table, String column, OffsetDateTime before) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + schema + "." + table + " WHERE " + column + " < ?")) {
            ps.setObject(1, before);
            return ps.executeUpdate();
        }
    }
}
