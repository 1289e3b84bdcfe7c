package io.prom2pg.support;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;

import java.sql.SQLException;
import java.time.OffsetDateTime;

import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;

/** The metering tests' known answer: 0.5 cores requested by a pod, and what the rollups and catalog then hold. */
public final class Metering {

    private Metering() {
    }

    /**
     * Sends 0.5 cores of {@code metering:pod_request_cpu_cores} for a pod of namespace "shop", one
     * sample a minute for this many minutes from {@code from}, then a stale marker, so nothing
     * spills past them; returns the answer's status.
     */
    public static int writePodCpuRequest(RunningProm2pg prom2pg, String pod, OffsetDateTime from, int minutes) throws Exception {
        TimeSeries.Builder ts = series("__name__", "metering:pod_request_cpu_cores", "namespace", "shop", "pod", pod, "node", "n1");
        long start = from.toInstant().toEpochMilli();
        for (int i = 0; i < minutes; i++) {
            ts.addSamples(sample(start + i * 60_000L, 0.5));
        }
        ts.addSamples(sample(start + minutes * 60_000L, Double.longBitsToDouble(0x7ff0000000000002L)));
        return RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder().addTimeseries(ts).build()).statusCode();
    }

    /** Core-seconds requested by namespace "shop" in this hour, from the rollups. */
    public static long namespaceCpu(RunningProm2pg prom2pg, OffsetDateTime hour) throws SQLException {
        return TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(), "SELECT coalesce(sum(cpu_request_core_seconds), 0)::int8 FROM "
                + prom2pg.schema + ".metering_namespace_rollup WHERE namespace = 'shop' AND hour = '" + hour + "'");
    }

    /** How many relations of this name prom2pg's schema holds (0 or 1). */
    public static long relations(RunningProm2pg prom2pg, String name) throws SQLException {
        return TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(), "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = '" + prom2pg.schema + "' AND c.relname = '" + name + "'");
    }

    /** How many head partitions of this UTC day (its 15-minute windows, or an earlier release's day partition) prom2pg's schema holds. */
    public static long headPartitions(RunningProm2pg prom2pg, java.time.LocalDate day) throws SQLException {
        return TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(), "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = '" + prom2pg.schema + "' AND c.relname ~ '^samples_"
                + day.format(java.time.format.DateTimeFormatter.BASIC_ISO_DATE) + "(_[0-9]{4})?$'");
    }
}
