package io.prom2pg.bench;

import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The benchmark: runs the load phases against a running prom2pg, checks in PostgreSQL that every
 * acknowledged sample is stored exactly once, measures COPY of the same rows on the same server,
 * and writes a summary and a plot. {@code bench/run.sh} starts prom2pg and calls this.
 */
public final class Bench {

    /** Runs one phase of the load and reports it, with PostgreSQL's WAL over it. */
    private static LoadGenerator.Result phase(LoadGenerator load, String jdbc, List<String> report, String name,
            int firstRound, int rounds, double rate) throws Exception {
        WalUsage before = WalUsage.now(jdbc);
        LoadGenerator.Result result = load.run(name, firstRound, rounds, rate);
        String line = result.line() + "\n           " + WalUsage.now(jdbc).since(before).line(result.samplesAcknowledged());
        report.add(line);
        System.out.println(line);
        return result;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args);
        URI write = URI.create(opt.getOrDefault("url", "http://127.0.0.1:29201/api/v1/write"));
        URI metrics = URI.create(opt.getOrDefault("metrics", "http://127.0.0.1:29876/observe/metrics"));
        String jdbc = opt.getOrDefault("jdbc", "jdbc:postgresql://127.0.0.1:25433/postgres");
        String schema = opt.getOrDefault("schema", "prom2pg");
        long pid = Long.parseLong(opt.getOrDefault("pid", "0"));
        int seriesCount = Integer.parseInt(opt.getOrDefault("series", "100000"));
        int senders = Integer.parseInt(opt.getOrDefault("senders", "20"));
        int batch = Integer.parseInt(opt.getOrDefault("batch", "2000"));
        int warmupRounds = Integer.parseInt(opt.getOrDefault("warmup-rounds", "1"));
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "10"));
        double pacedRate = Double.parseDouble(opt.getOrDefault("paced-rate", "0"));
        int pacedRounds = Integer.parseInt(opt.getOrDefault("paced-rounds", "0"));
        Path out = Path.of(opt.getOrDefault("out", "target/bench"));
        Files.createDirectories(out);

        long interval = 15_000;
        int totalRounds = warmupRounds + rounds + pacedRounds;
        long start = (System.currentTimeMillis() / interval - totalRounds - 1) * interval;
        double prefillHours = Double.parseDouble(opt.getOrDefault("prefill-hours", "0"));
        if (prefillHours > 0) {
            Prefill.check(start, prefillHours);
        }
        BenchSeries series = new BenchSeries(seriesCount, Integer.parseInt(opt.getOrDefault("series-set", "0")));
        LoadGenerator load = new LoadGenerator(write, series, senders, batch, start, interval);
        load.setProm2pgPid(pid);
        List<String> report = new ArrayList<>();
        report.add(String.format("load: %,d series x 8 labels, %,d samples per request, %d senders; "
                + "%d first-pass round(s), %d steady rounds%s", seriesCount, batch, senders, warmupRounds, rounds,
                pacedRounds > 0 ? String.format(", %d rounds paced at %,.0f samples/s", pacedRounds, pacedRate) : ""));

        long acknowledged = 0;
        LoadGenerator.Result steady;
        try (Monitor monitor = new Monitor(metrics, pid)) {
            LoadGenerator.Result first = phase(load, jdbc, report, "first-pass", 0, warmupRounds, 0);
            if (prefillHours > 0) {
                report.add(Prefill.run(jdbc, schema, start, prefillHours, interval));
                System.out.println(report.get(report.size() - 1));
            }
            steady = phase(load, jdbc, report, "steady", warmupRounds, rounds, 0);
            acknowledged = first.samplesAcknowledged() + steady.samplesAcknowledged();
            if (pacedRounds > 0) {
                acknowledged += phase(load, jdbc, report, "paced", warmupRounds + rounds, pacedRounds, pacedRate)
                        .samplesAcknowledged();
            }
            Thread.sleep(1500);
            report.add(String.format("prom2pg peak heap %.0f MiB, peak RSS %.0f MiB",
                    monitor.peakHeap() / (1 << 20), monitor.peakRss() / (1 << 20)));
            plot(monitor.points(), out.resolve("bench.png").toFile(), report.get(0));
        }

        long stored;
        long distinct;
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", ""); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT (series_id, time)) FROM " + schema + ".samples"
                     + " WHERE time >= to_timestamp(" + start / 1000 + ")")) {
            rs.next();
            stored = rs.getLong(1);
            distinct = rs.getLong(2);
        }
        boolean exact = stored == acknowledged && distinct == stored;
        report.add(String.format("check: %,d samples acknowledged, %,d rows stored, %,d distinct (series, time): %s",
                acknowledged, stored, distinct, exact ? "none lost, none duplicated" : "MISMATCH"));

        WriteBaseline.Result copy = WriteBaseline.run(jdbc, "postgres", schema, start);
        report.add(String.format("COPY of the same %,d rows into the same table shape: %.2f s = %,.0f rows/s",
                copy.rows(), copy.seconds(), copy.rowsPerSecond()));
        report.add(String.format("ratio steady / COPY: %.2f", steady.samplesPerSecond() / copy.rowsPerSecond()));
        // optional: the same rows written another way, e.g. "copy:8x2000,unnest:8x2000,batch:8x2000"
        // (method, sessions x rows per statement; the method defaults to copy)
        for (String variant : opt.getOrDefault("load-variants", "").split(",")) {
            if (variant.isBlank()) {
                continue;
            }
            String[] mv = variant.trim().split(":");
            WriteBaseline.Method method = mv.length > 1 ? WriteBaseline.Method.parse(mv[0]) : WriteBaseline.Method.COPY;
            String[] v = mv[mv.length - 1].split("x");
            WriteBaseline.Result r = WriteBaseline.run(jdbc, "postgres", schema, start, method, Integer.parseInt(v[0]), Integer.parseInt(v[1]));
            report.add(String.format("%s in %s sessions x %s rows: %.2f s = %,.0f rows/s",
                    method.name().toLowerCase(Locale.ROOT).replace('_', '-'), v[0], v[1], r.seconds(), r.rowsPerSecond()));
        }

        String summary = String.join("\n", report) + "\n";
        Files.writeString(out.resolve("summary.txt"), summary);
        System.out.println();
        System.out.print(summary);
        System.out.println("plot: " + out.resolve("bench.png"));
        if (!exact) {
            System.exit(1);
        }
    }

    private static void plot(List<Monitor.Point> points, File file, String title) throws Exception {
        XYSeries rate = new XYSeries("samples written/s");
        XYSeries heap = new XYSeries("heap used (MiB)");
        XYSeries rss = new XYSeries("resident memory (MiB)");
        for (int i = 0; i < points.size(); i++) {
            Monitor.Point p = points.get(i);
            if (i > 0) {
                Monitor.Point q = points.get(i - 1);
                rate.add(p.seconds(), (p.written() - q.written()) / (p.seconds() - q.seconds()));
            }
            heap.add(p.seconds(), p.heapBytes() / (1 << 20));
            rss.add(p.seconds(), p.rssBytes() / (1 << 20));
        }
        XYPlot throughput = new XYPlot(new XYSeriesCollection(rate), null, new NumberAxis("samples/s"),
                new XYLineAndShapeRenderer(true, false));
        XYSeriesCollection memory = new XYSeriesCollection(heap);
        memory.addSeries(rss);
        XYPlot mem = new XYPlot(memory, null, new NumberAxis("MiB"), new XYLineAndShapeRenderer(true, false));
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(new NumberAxis("seconds"));
        combined.add(throughput, 2);
        combined.add(mem, 1);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, combined, true);
        ChartUtils.saveChartAsPNG(file, chart, 1000, 650);
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        return opt;
    }
}
