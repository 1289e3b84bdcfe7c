package io.prom2pg.observe;

import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prom2pg.config.Settings;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;

/**
 * What each scheduled maintenance route did, counted by the route itself rather than by the bean
 * it calls: a run that fails before its bean is entered (a wrong method binding, a missing bean)
 * still counts as a failure. Published per route as {@code prom2pg_maintenance_runs_total},
 * {@code prom2pg_maintenance_failures_total} and the Unix time of the last success and failure.
 */
public class MaintenanceRuns implements OnCamelContextStarted {

    /** One route's record: runs, failures, and when the last of each happened. */
    private static final class RouteRecord {
        private final AtomicLong runs = new AtomicLong();
        private final AtomicLong failures = new AtomicLong();
        private volatile Instant lastSuccess;
        private volatile Instant lastFailure;
    }

    private final ConcurrentMap<String, RouteRecord> routes = new ConcurrentHashMap<>();
    private volatile MeterRegistry registry = new SimpleMeterRegistry();
    private java.util.List<String> listed = java.util.List.of();

    @Override
    public void onContextStarted(CamelContext context) {
        MeterRegistry found = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (found != null) {
            registry = found;
            routes.keySet().forEach(this::register);
        }
        // every maintenance route is listed from the start, at zero, so a rate or an alert on it
        // has a series before the first failure
        listed.forEach(this::record);
    }

    /** The routes listed at zero from start-up, comma-separated (others appear once they run). */
    public void setRoutes(String routes) {
        listed = Settings.commaSeparated(routes);
    }

    /** A run of the route completed. */
    public void succeeded(String routeId) {
        RouteRecord r = record(routeId);
        r.runs.incrementAndGet();
        r.lastSuccess = Instant.now();
    }

    /** A run of the route failed (the route logs why). */
    public void failed(String routeId) {
        RouteRecord r = record(routeId);
        r.runs.incrementAndGet();
        r.failures.incrementAndGet();
        r.lastFailure = Instant.now();
    }

    /** Runs of the route so far, failed ones included. */
    public long runs(String routeId) {
        RouteRecord r = routes.get(routeId);
        return r == null ? 0 : r.runs.get();
    }

    /** Failed runs of the route so far. */
    public long failures(String routeId) {
        RouteRecord r = routes.get(routeId);
        return r == null ? 0 : r.failures.get();
    }

    /** One route's record as the console shows it (times null: not yet). */
    public record RouteState(String route, long runs, long failures, Instant lastSuccess, Instant lastFailure) {
    }

    /** Every route's record, by route id. */
    public java.util.List<RouteState> states() {
        return routes.entrySet().stream()
                .map(e -> new RouteState(e.getKey(), e.getValue().runs.get(), e.getValue().failures.get(),
                        e.getValue().lastSuccess, e.getValue().lastFailure))
                .sorted(java.util.Comparator.comparing(RouteState::route))
                .toList();
    }

    private RouteRecord record(String routeId) {
        return routes.computeIfAbsent(routeId, id -> {
            RouteRecord r = new RouteRecord();
            register(id, r);
            return r;
        });
    }

    private void register(String routeId) {
        register(routeId, routes.get(routeId));
    }

    private void register(String routeId, RouteRecord r) {
        MeterRegistry reg = registry;
        FunctionCounter.builder("prom2pg.maintenance.runs", r, x -> x.runs.get())
                .tag("route", routeId).description("Runs of a scheduled maintenance route, failed ones included")
                .register(reg);
        FunctionCounter.builder("prom2pg.maintenance.failures", r, x -> x.failures.get())
                .tag("route", routeId).description("Runs of a scheduled maintenance route that failed")
                .register(reg);
        Gauge.builder("prom2pg.maintenance.last.success.timestamp.seconds", r,
                        x -> x.lastSuccess == null ? 0 : x.lastSuccess.toEpochMilli() / 1000.0)
                .tag("route", routeId).description("When a maintenance route last completed (Unix time; 0: not yet)")
                .register(reg);
        Gauge.builder("prom2pg.maintenance.last.failure.timestamp.seconds", r,
                        x -> x.lastFailure == null ? 0 : x.lastFailure.toEpochMilli() / 1000.0)
                .tag("route", routeId).description("When a maintenance route last failed (Unix time; 0: never)")
                .register(reg);
    }
}
