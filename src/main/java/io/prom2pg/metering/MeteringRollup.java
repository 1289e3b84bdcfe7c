package io.prom2pg.metering;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

import javax.sql.DataSource;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Materializes the hourly metering results into rollup tables, incrementally: each run
 * recomputes the complete hours since the last run, and again the hours of the late window
 * (samples arriving late change the hours they belong to). Run by the metering-rollup route.
 */
public class MeteringRollup implements OnCamelContextStarted {

    private static final Logger LOG = LoggerFactory.getLogger(MeteringRollup.class);

    private DataSource dataSource;
    private String schema = "prom2pg";
    private Duration lateWindow = Duration.ofHours(6);
    private Counter runs;
    private Counter rows;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setLateWindowHours(int hours) {
        this.lateWindow = Duration.ofHours(hours);
    }

    @Override
    public void onContextStarted(CamelContext context) {
        MeterRegistry registry = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (registry != null) {
            runs = Counter.builder("prom2pg.metering.rollup.runs").description("Metering rollup runs").register(registry);
            rows = Counter.builder("prom2pg.metering.rollup.rows").description("Hourly rollup rows written").register(registry);
        }
    }

    /** Rolls up the complete hours from the last run (or the first sample) minus the late window, to now. */
    public int run() {
        return runAt(Instant.now());
    }

    /** One run as of this instant (a single name for each arity: Camel binds the routes' {@code run()} by name). */
    int runAt(Instant now) {
        OffsetDateTime to = OffsetDateTime.ofInstant(now, ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS);
        long t0 = System.nanoTime();
        try (Connection c = dataSource.getConnection()) {
            OffsetDateTime from = start(c, to.minus(lateWindow));
            if (from == null || !from.isBefore(to)) {
                return 0;
            }
            int written = rollUp(c, from, to);
            LOG.info("Metering rollup: hours {} to {} recomputed, {} rows, {} ms", from, to, written,
                    (System.nanoTime() - t0) / 1_000_000);
            count(runs, 1);
            count(rows, written);
            return written;
        } catch (SQLException e) {
            // counted by the route, with every other way a run can fail
            throw new StorageUnavailableException("metering rollup failed: " + Sql.oneLine(e), e);
        }
    }

    /** Recomputes the rollups of the hours in [from, to). */
    public int rollUp(OffsetDateTime from, OffsetDateTime to) {
        try (Connection c = dataSource.getConnection()) {
            return rollUp(c, from, to);
        } catch (SQLException e) {
            throw new StorageUnavailableException("metering rollup failed: " + Sql.oneLine(e), e);
        }
    }

    private int rollUp(Connection c, OffsetDateTime from, OffsetDateTime to) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + schema + ".metering_rollup(?, ?)")) {
            ps.setObject(1, from);
            ps.setObject(2, to);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Where to start: the earlier of the late window and where the last run stopped (or the first sample). */
    private OffsetDateTime start(Connection c, OffsetDateTime lateStart) throws SQLException {
        OffsetDateTime done = null;
        try (PreparedStatement ps = c.prepareStatement("SELECT rolled_up_to FROM " + schema + ".metering_rollup_state");
             ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
                done = rs.getObject(1, OffsetDateTime.class);
            }
        }
        if (done == null) {
            done = firstMeteringHour(c, schema);
            if (done == null) {
                return null; // no metering samples yet
            }
        }
        return done.isBefore(lateStart) ? done : lateStart;
    }

    /** The hour of the oldest metering sample stored, or null when there is none. */
    static OffsetDateTime firstMeteringHour(Connection c, String schema) throws SQLException {
        String metering = " JOIN " + schema + ".series se ON se.id = s.series_id WHERE se.metric_name IN (SELECT metric FROM "
                + schema + ".metering_sources)";
        // the head's oldest row, or the sealed tier's oldest block
        try (PreparedStatement ps = c.prepareStatement("SELECT date_trunc('hour', least("
                + "(SELECT min(s.time) FROM " + schema + ".samples s" + metering + "),"
                + " (SELECT timestamptz 'epoch' + min(s.first_time) * interval '1 millisecond' FROM " + schema + ".sample_blocks s"
                + metering + ")), 'UTC')");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class);
        }
    }

    private static void count(Counter counter, double n) {
        if (counter != null) {
            counter.increment(n);
        }
    }
}
