package io.prom2pg.support;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.OffsetDateTime;

import io.prom2pg.metering.MeteringRollup;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;

/**
 * What the console tests look at, with known answers: metering for November 2026 (namespace
 * "shop" requests 0.5 cores for 2 h on the 2nd and the 3rd, 1 core-hour each day; "billing" 2 cores
 * and 1 GiB for 2 h on the 2nd: 4 core-hours, 2 GiB-hours), two metrics of known cardinality, a
 * series of the last half hour for the explore page, and one HA cluster.
 */
public final class ConsoleData {

    /** 2026-11-02T00:00:00Z */
    public static final OffsetDateTime NOV_2 = OffsetDateTime.parse("2026-11-02T00:00:00Z");
    /** Series of console_demo_requests_total: 6 pods × 2 codes. */
    public static final int REQUESTS_SERIES = 12;
    public static final int UP_SERIES = 3;
    /** Points of console_demo_temperature over the last 30 minutes (every 15 s), one of them NaN. */
    public static final int EXPLORE_POINTS = 120;
    /** A label value that would run script if a page put it into HTML. */
    public static final String MARKUP = "<img src=x onerror=\"window.prom2pgInjected=1\">";
    static final double STALE = Double.longBitsToDouble(0x7ff0000000000002L);

    private ConsoleData() {
    }

    public static void seed(RunningProm2pg prom2pg) throws Exception {
        WriteRequest.Builder metering = WriteRequest.newBuilder();
        metering.addTimeseries(gauge("metering:pod_request_cpu_cores", "shop", "shop-1", NOV_2, 120, 0.5));
        metering.addTimeseries(gauge("metering:pod_request_cpu_cores", "shop", "shop-2", NOV_2.plusDays(1), 120, 0.5));
        metering.addTimeseries(gauge("metering:pod_request_cpu_cores", "billing", "billing-1", NOV_2, 120, 2));
        metering.addTimeseries(gauge("metering:pod_request_memory_bytes", "billing", "billing-1", NOV_2, 120, 1024.0 * 1024 * 1024));
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), metering.build()).statusCode());

        WriteRequest.Builder demo = WriteRequest.newBuilder();
        long now = System.currentTimeMillis();
        for (int pod = 0; pod < 6; pod++) {
            for (String code : new String[] {"200", "500"}) {
                demo.addTimeseries(series("__name__", "console_demo_requests_total", "job", "shop", "pod", "shop-" + pod, "code", code)
                        .addSamples(sample(now - 60_000, pod * 10 + code.length())));
            }
        }
        for (int i = 0; i < UP_SERIES; i++) {
            demo.addTimeseries(series("__name__", "console_demo_up", "job", "shop", "instance", "host-" + i, "note", i == 0 ? MARKUP : "ok")
                    .addSamples(sample(now - 60_000, 1)));
        }
        TimeSeries.Builder temperature = series("__name__", "console_demo_temperature", "job", "shop", "room", "a");
        long start = now - 30 * 60_000L;
        for (int i = 0; i < EXPLORE_POINTS; i++) {
            temperature.addSamples(sample(start + i * 15_000L, i == 60 ? Double.NaN : 20 + Math.sin(i / 10.0)));
        }
        demo.addTimeseries(temperature);
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), demo.build()).statusCode());

        WriteRequest.Builder ha = WriteRequest.newBuilder().addTimeseries(series("__name__", "console_demo_ha",
                "prometheus", "openshift", "prometheus_replica", "prometheus-k8s-0").addSamples(sample(now - 5_000, 1)));
        assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), ha.build()).statusCode());

        prom2pg.app().context().getRegistry().lookupByNameAndType("meteringRollup", MeteringRollup.class)
                .rollUp(NOV_2, NOV_2.plusDays(2));
    }

    private static TimeSeries.Builder gauge(String metric, String namespace, String pod, OffsetDateTime from, int minutes, double value) {
        TimeSeries.Builder ts = series("__name__", metric, "namespace", namespace, "pod", pod, "node", "n1");
        long t0 = from.toInstant().toEpochMilli();
        for (int i = 0; i < minutes; i++) {
            ts.addSamples(sample(t0 + i * 60_000L, value));
        }
        return ts.addSamples(sample(t0 + minutes * 60_000L, STALE));
    }
}
