package io.prom2pg.console;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.prom2pg.ha.Leases;
import io.prom2pg.observe.DatabaseReadinessCheck;
import io.prom2pg.observe.IngestHistory;
import io.prom2pg.observe.MaintenanceRuns;
import io.prom2pg.observe.StorageMetrics;
import io.prom2pg.store.StorageSizes;

/**
 * The console's status page: the last hour of ingest from memory (it works with no Prometheus
 * scraping prom2pg), readiness, series, maintenance routes, HA clusters and storage. What comes
 * from the database is read at most once per {@code prom2pg.console.cache-ms}; when the database
 * cannot answer, the rest is still shown, with the reason.
 */
public class ConsoleStatus {

    /** The answer of {@code GET /console/api/status}; times are Unix milliseconds. */
    public record Status(long now, boolean ready, String readiness, double intervalSeconds, IngestHistory.Rates history, Series series,
                         List<Maintenance> maintenance, List<HaCluster> ha, Storage storage, String databaseError) {
    }

    public record Series(Long total, PerMinute newPerMinute) {
    }

    public record PerMinute(List<Long> time, List<Long> count) {
    }

    public record Maintenance(String route, long runs, long failures, Long lastSuccess, Long lastFailure) {
    }

    /**
     * An HA cluster: its leader, when that leader last wrote (each of its writes renews the lease
     * to then + {@code prom2pg.ha.timeout-ms}), until when the lease runs, when the leader changed,
     * and the newest sample time it stored.
     */
    public record HaCluster(String cluster, String leader, Long lastWrite, Long leaseUntil, Long changedAt, Long leaderTime) {
    }

    public record Storage(Long headBytes, Long sealedBytes, Double oldestUnsealedAgeSeconds, List<StorageSizes.TableSize> tables) {
    }

    /** What the database tells, read together in one bounded transaction. */
    private record FromDatabase(long seriesTotal, PerMinute newPerMinute, List<HaCluster> ha, List<StorageSizes.TableSize> tables) {
    }

    private ConsoleDb consoleDb;
    private IngestHistory ingestHistory;
    private MaintenanceRuns maintenanceRuns;
    private StorageMetrics storageMetrics;
    private DatabaseReadinessCheck readiness;
    private long haTimeoutMillis = 30_000;
    private final Cached<String, FromDatabase> cache = new Cached<>(15_000);

    public void setConsoleDb(ConsoleDb consoleDb) {
        this.consoleDb = consoleDb;
    }

    public void setIngestHistory(IngestHistory ingestHistory) {
        this.ingestHistory = ingestHistory;
    }

    public void setMaintenanceRuns(MaintenanceRuns maintenanceRuns) {
        this.maintenanceRuns = maintenanceRuns;
    }

    public void setStorageMetrics(StorageMetrics storageMetrics) {
        this.storageMetrics = storageMetrics;
    }

    public void setReadiness(DatabaseReadinessCheck readiness) {
        this.readiness = readiness;
    }

    public void setCacheMillis(long cacheMillis) {
        cache.maxAge(cacheMillis);
    }

    public void setHaTimeoutMillis(long haTimeoutMillis) {
        this.haTimeoutMillis = haTimeoutMillis;
    }

    public Status status() {
        String notReady = readiness.notReadyReason();
        FromDatabase db = null;
        String dbError = null;
        if (notReady == null) {
            try {
                db = cache.get("status", k -> consoleDb.read("reading the status", this::fromDatabase));
            } catch (RuntimeException e) {
                dbError = e.getMessage();
            }
        } else {
            dbError = notReady;
        }
        IngestHistory.Rates r = ingestHistory.rates();
        List<Maintenance> maintenance = maintenanceRuns.states().stream()
                .map(s -> new Maintenance(s.route(), s.runs(), s.failures(), millis(s.lastSuccess()), millis(s.lastFailure())))
                .toList();
        StorageSizes.Sizes sizes = storageMetrics.sizes();
        double age = storageMetrics.oldestUnsealedAge();
        Storage storage = new Storage(sizes == null ? null : sizes.headBytes(), sizes == null ? null : sizes.sealedBytes(),
                Double.isNaN(age) ? null : age, db == null ? List.of() : db.tables());
        return new Status(System.currentTimeMillis(), notReady == null, notReady == null ? "UP" : notReady, r.intervalSeconds(),
                r, db == null ? new Series(null, new PerMinute(List.of(), List.of())) : new Series(db.seriesTotal(), db.newPerMinute()),
                maintenance, db == null ? List.of() : db.ha(), storage, dbError);
    }

    private FromDatabase fromDatabase(Connection c, String schema) throws SQLException {
        long total = Cardinality.seriesTotal(c, schema);
        // series_created_at_idx (BRIN) keeps this to the last hour's pages on a store of millions
        List<Long> minutes = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT (extract(epoch FROM date_trunc('minute', created_at)) * 1000)::int8,"
                + " count(*) FROM " + schema + ".series WHERE created_at >= now() - interval '1 hour' GROUP BY 1 ORDER BY 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                minutes.add(rs.getLong(1));
                counts.add(rs.getLong(2));
            }
        }
        List<HaCluster> ha = Leases.all(c, schema).stream()
                .map(l -> new HaCluster(l.cluster(), l.leader(), millis(l.leaseUntil()) - haTimeoutMillis, millis(l.leaseUntil()),
                        millis(l.changedAt()), millis(l.leaderTime())))
                .toList();
        return new FromDatabase(total, new PerMinute(minutes, counts), ha, StorageSizes.tables(c, schema));
    }

    private static Long millis(Instant t) {
        return t == null ? null : t.toEpochMilli();
    }

}
