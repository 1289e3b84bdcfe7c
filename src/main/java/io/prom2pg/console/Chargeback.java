package io.prom2pg.console;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.prom2pg.failure.InvalidRequestException;
import org.apache.camel.Header;

/**
 * The console's chargeback page: per namespace and UTC day of a month, CPU and memory requested
 * and used, in core-hours and GiB-hours, from the hourly rollup {@code metering_namespace_rollup}
 * (so it answers for months whose raw samples retention has dropped). The download links are the
 * reports endpoint's rows of the same rollup and period, hourly: summed per UTC day, they are
 * the page's table.
 */
public class Chargeback {

    private static final double GIB = 1024.0 * 1024 * 1024;

    public record Totals(double cpuRequestCoreHours, double cpuUsageCoreHours, double memoryRequestGibHours,
                         double memoryUsageGibHours) {
    }

    /** One namespace: a value per day of the month (0 for a day without rollup rows), and the month's totals. */
    public record Namespace(String namespace, double[] cpuRequestCoreHours, double[] cpuUsageCoreHours,
                            double[] memoryRequestGibHours, double[] memoryUsageGibHours, Totals totals) {
    }

    public record Downloads(String csv, String json) {
    }

    /** {@code GET /console/api/chargeback?month=YYYY-MM}. */
    public record Month(String month, String start, String end, String firstMonth, String lastMonth, List<String> days,
                        List<Namespace> namespaces, Downloads downloads) {
    }

    private ConsoleDb consoleDb;
    private final Cached<String, Month> cache = new Cached<>(15_000);

    public void setConsoleDb(ConsoleDb consoleDb) {
        this.consoleDb = consoleDb;
    }

    public void setCacheMillis(long cacheMillis) {
        cache.maxAge(cacheMillis);
    }

    /** The month asked for, or the newest month with rollups (this month when there are none). */
    public Month month(@Header("month") String month) {
        YearMonth asked = null;
        if (month != null && !month.isBlank()) {
            try {
                asked = YearMonth.parse(month.trim());
            } catch (DateTimeParseException e) {
                throw new InvalidRequestException("month must be YYYY-MM, not '" + month.replaceAll("[^\\x20-\\x7e]", "?") + "'");
            }
        }
        YearMonth chosen = asked;
        return cache.get(chosen == null ? "" : chosen.toString(),
                k -> consoleDb.read("reading the chargeback", (c, schema) -> month(c, schema, chosen)));
    }

    private Month month(Connection c, String schema, YearMonth asked) throws SQLException {
        YearMonth first = null;
        YearMonth last = null;
        // the rollup's primary key begins with hour: both ends are an index lookup
        try (PreparedStatement ps = c.prepareStatement("SELECT (SELECT min(hour) FROM " + schema + ".metering_pod_rollup),"
                + " (SELECT max(hour) FROM " + schema + ".metering_pod_rollup)");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getObject(1) != null) {
                first = YearMonth.from(rs.getObject(1, OffsetDateTime.class).withOffsetSameInstant(ZoneOffset.UTC));
                last = YearMonth.from(rs.getObject(2, OffsetDateTime.class).withOffsetSameInstant(ZoneOffset.UTC));
            }
        }
        YearMonth month = asked != null ? asked : last != null ? last : YearMonth.now(ZoneOffset.UTC);
        OffsetDateTime start = month.atDay(1).atStartOfDay().atOffset(ZoneOffset.UTC);
        OffsetDateTime end = start.plusMonths(1);
        int days = month.lengthOfMonth();
        Map<String, double[][]> byNamespace = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT (hour AT TIME ZONE 'UTC')::date, namespace,"
                + " sum(cpu_request_core_seconds) / 3600, sum(cpu_usage_core_seconds) / 3600,"
                + " sum(memory_request_byte_seconds) / 3600 / " + GIB + ", sum(memory_usage_byte_seconds) / 3600 / " + GIB
                + " FROM " + schema + ".metering_namespace_rollup WHERE hour >= ? AND hour < ? GROUP BY 1, 2 ORDER BY 2, 1")) {
            ps.setObject(1, start);
            ps.setObject(2, end);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int day = rs.getObject(1, LocalDate.class).getDayOfMonth() - 1;
                    double[][] v = byNamespace.computeIfAbsent(rs.getString(2), k -> new double[4][days]);
                    for (int m = 0; m < 4; m++) {
                        v[m][day] = rs.getDouble(3 + m);
                    }
                }
            }
        }
        List<Namespace> namespaces = new ArrayList<>();
        byNamespace.forEach((ns, v) -> namespaces.add(new Namespace(ns, v[0], v[1], v[2], v[3],
                new Totals(sum(v[0]), sum(v[1]), sum(v[2]), sum(v[3])))));
        namespaces.sort((a, b) -> Double.compare(b.totals().cpuRequestCoreHours(), a.totals().cpuRequestCoreHours()));
        List<String> dayList = new ArrayList<>(days);
        for (int d = 1; d <= days; d++) {
            dayList.add(month.atDay(d).toString());
        }
        return new Month(month.toString(), rfc3339(start), rfc3339(end), first == null ? null : first.toString(),
                last == null ? null : last.toString(), dayList, namespaces,
                new Downloads(reportsLink(start, end, "csv"), reportsLink(start, end, "json")));
    }

    private static String reportsLink(OffsetDateTime start, OffsetDateTime end, String format) {
        // relative to the console's pages (/console/...), so that it holds behind a proxy's path prefix
        return "../api/v1/reports/metering_namespace_rollup?start=" + encode(rfc3339(start)) + "&end=" + encode(rfc3339(end))
                + "&format=" + format;
    }

    private static String rfc3339(OffsetDateTime t) {
        return t.toLocalDate() + "T00:00:00Z";
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s;
    }
}
