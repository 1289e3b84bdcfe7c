package io.prom2pg.ha;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import javax.sql.DataSource;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;

/**
 * The HA clusters as the database has them, for alerts that no single request shows: a cluster
 * whose lease ran out and that no replica took over has no replica writing at all. Published as
 * {@code prom2pg_ha_clusters} and {@code prom2pg_ha_clusters_without_leader} (a lease that ran out
 * within the last day: a pair retired for good stops counting a day later), read by the
 * {@code ha-status} route, not at scrape time; NaN before the first read.
 */
public class HaMetrics implements OnCamelContextStarted {

    static final Duration RETIRED_AFTER = Duration.ofDays(1);

    private DataSource dataSource;
    private String schema = "prom2pg";
    private volatile List<Leases.Row> rows;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    @Override
    public void onContextStarted(CamelContext context) {
        MeterRegistry found = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        MeterRegistry registry = found != null ? found : new SimpleMeterRegistry();
        Gauge.builder("prom2pg.ha.clusters", this, m -> m.rows == null ? Double.NaN : m.rows.size())
                .description("HA clusters (Prometheus pairs) with a lease in the database").register(registry);
        Gauge.builder("prom2pg.ha.clusters.without.leader", this, HaMetrics::withoutLeader)
                .description("HA clusters whose lease ran out within the last day and that no replica took over:"
                        + " none of their replicas writes").register(registry);
    }

    /** Reads the leases again (the ha-status route). */
    public void refresh() {
        try (Connection c = dataSource.getConnection()) {
            rows = Leases.all(c, schema);
        } catch (SQLException e) {
            throw new StorageUnavailableException("reading the HA leases failed: " + Sql.oneLine(e), e);
        }
    }

    private double withoutLeader() {
        List<Leases.Row> read = rows;
        if (read == null) {
            return Double.NaN;
        }
        // the leases' times are the database's clock; a few seconds of skew do not change a 10-minute alert
        Instant now = Instant.now();
        return read.stream().filter(r -> r.leaseUntil().isBefore(now) && r.leaseUntil().isAfter(now.minus(RETIRED_AFTER))).count();
    }
}
