package io.prom2pg.bench;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

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
 *
 * <p>With {@code --receiver Prometheus} it runs the same phases, with the same series, timeline
 * (read from the prom2pg run's {@code timeline.properties}) and so the same request bodies,
 * against Prometheus' own remote-write receiver, and appends those lines and the ratio of the
 * steady rates to the prom2pg run's summary. {@code bench/run.sh} does that after prom2pg is
 * stopped, with {@code PEER=prometheus}.
 */
public final class Bench {

    /**
     * Samples of a prefill by remote write whose bodies are built at once, in whole rounds, at most
     * 20 (100k series: 20 rounds, ~200 MB of bodies).
     */
    private static final int PREFILL_SLICE_SAMPLES = 2_000_000;
    /**
     * How long after a phase with a checkpoint its WAL is read: sessions report their statistics
     * at most once a second, an idle one up to 10 s later, and the checkpointer after the
     * checkpoint is done.
     */
    private static final long STATISTICS_WAIT_MILLIS = 11_000;

    /**
     * A {@code CHECKPOINT} from a session of its own, about 1 s into a phase (or halfway through
     * it, if it is shorter), while the senders go on.
     */
    private static final class Checkpoint {
        private final String jdbc;
        private volatile double issuedAt = -1;
        private volatile double doneAt = -1;

        Checkpoint(String jdbc) {
            this.jdbc = jdbc;
        }

        LoadGenerator.Trigger trigger() {
            return new LoadGenerator.Trigger(1000, 0.5, secondsIntoPhase -> {
                issuedAt = secondsIntoPhase;
                long t0 = System.nanoTime();
                try (Connection c = DriverManager.getConnection(jdbc, "postgres", ""); Statement st = c.createStatement()) {
                    st.execute("CHECKPOINT");
                }
                doneAt = issuedAt + (System.nanoTime() - t0) / 1e9;
            });
        }

        String line(double phaseSeconds) {
            return String.format("checkpoint: CHECKPOINT from a separate session %.2f s into the phase, done %.2f s into it"
                    + " (the phase took %.2f s); WAL read %d s after the phase", issuedAt, doneAt, phaseSeconds,
                    STATISTICS_WAIT_MILLIS / 1000);
        }
    }

    /** Runs one phase of the load and reports it, with PostgreSQL's WAL over it unless {@code jdbc} is null. */
    private static LoadGenerator.Result phase(LoadGenerator load, String jdbc, List<String> report, String name,
            int firstRound, int rounds, double rate) throws Exception {
        return phase(load, jdbc, report, name, firstRound, rounds, rate, rounds, null);
    }

    private static LoadGenerator.Result phase(LoadGenerator load, String jdbc, List<String> report, String name,
            int firstRound, int rounds, double rate, int sliceRounds, Checkpoint checkpoint) throws Exception {
        WalUsage before = jdbc == null ? null : WalUsage.now(jdbc);
        LoadGenerator.Result result = load.run(name, firstRound, rounds, rate, sliceRounds,
                checkpoint == null ? null : checkpoint.trigger());
        String line = result.line();
        if (checkpoint != null) {
            line += "\n           " + checkpoint.line(result.seconds());
            Thread.sleep(STATISTICS_WAIT_MILLIS);
        }
        if (jdbc != null) {
            line += "\n           " + WalUsage.now(jdbc).since(before).line(result.samplesAcknowledged());
        }
        report.add(line);
        System.out.println(line);
        return result;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args);
        // prom2pg, or the peer it is compared with (Prometheus), which has no PostgreSQL to check
        String receiver = opt.getOrDefault("receiver", "prom2pg");
        boolean peer = !receiver.equals("prom2pg");
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
        double prefillHours = Double.parseDouble(opt.getOrDefault("prefill-hours", "0"));
        // sql: the hours before the first pass, inserted into PostgreSQL directly; remote-write: rounds
        // after the first pass, sent to the receiver like the others (the only way into Prometheus)
        String prefillMethod = opt.getOrDefault("prefill-method", "sql");
        if (!prefillMethod.equals("sql") && !prefillMethod.equals("remote-write")) {
            throw new IllegalArgumentException("PREFILL_METHOD is sql or remote-write, not " + prefillMethod);
        }
        boolean remotePrefill = prefillHours > 0 && prefillMethod.equals("remote-write");
        boolean sqlPrefill = prefillHours > 0 && !remotePrefill;
        if (peer && sqlPrefill) {
            throw new IllegalArgumentException(receiver + " can only be prefilled by remote write (PREFILL_METHOD=remote-write)");
        }
        int prefillRounds = remotePrefill ? (int) Math.round(prefillHours * 3_600_000 / interval) : 0;
        long alignMillis = Long.parseLong(opt.getOrDefault("align-ms", "0"));
        boolean steadyCheckpoint = !peer && opt.getOrDefault("steady-checkpoint", "0").equals("1");

        Path timelineFile = out.resolve("timeline.properties");
        Timeline timeline;
        Properties prom2pgRun = new Properties();
        if (peer) {
            // the prom2pg run's timeline, so that the peer gets the same timestamps and so the same bodies
            try (var in = Files.newBufferedReader(timelineFile)) {
                prom2pgRun.load(in);
            }
            timeline = new Timeline(Long.parseLong(prom2pgRun.getProperty("start")), interval, warmupRounds, prefillRounds,
                    rounds, pacedRounds);
            String expected = String.format("%d %d %d %s", seriesCount, senders, batch, timeline.shape());
            if (!expected.equals(prom2pgRun.getProperty("load"))) {
                throw new IllegalArgumentException("the load differs from the prom2pg run's: " + expected + " vs "
                        + prom2pgRun.getProperty("load"));
            }
        } else {
            timeline = Timeline.choose(System.currentTimeMillis(), interval, warmupRounds, prefillRounds, rounds, pacedRounds,
                    alignMillis);
        }
        long start = timeline.start();
        long sqlPrefillMillis = sqlPrefill ? (long) (prefillHours * 3_600_000) : 0;
        if (sqlPrefill) {
            Prefill.check(start, prefillHours);
        }
        BenchSeries series = new BenchSeries(seriesCount, Integer.parseInt(opt.getOrDefault("series-set", "0")));
        LoadGenerator load = new LoadGenerator(write, series, senders, batch, start, interval);
        load.setReceiver(receiver, pid, !peer);
        List<String> report = new ArrayList<>();
        String loadLine = String.format("load: %,d series x 8 labels, %,d samples per request, %d senders; "
                + "%d first-pass round(s), %s%d steady rounds%s", seriesCount, batch, senders, warmupRounds,
                remotePrefill ? String.format("%,d prefill rounds by remote write, ", prefillRounds) : "", rounds,
                pacedRounds > 0 ? String.format(", %d rounds paced at %,.0f samples/s", pacedRounds, pacedRate) : "");
        if (peer) {
            report.add(String.format("peer: %s, remote-write receiver, the same load, timeline and request bodies",
                    opt.getOrDefault("receiver-version", receiver)));
        } else {
            report.add(loadLine);
            if (prefillHours > 0 || alignMillis > 0) {
                report.add(timeline.describe(sqlPrefillMillis, alignMillis));
                System.out.println(report.get(report.size() - 1));
            }
        }
        String walJdbc = peer ? null : jdbc;

        long acknowledged = 0;
        LoadGenerator.Result steady;
        try (Monitor monitor = new Monitor(metrics, pid, peer ? Monitor.Source.PROMETHEUS : Monitor.Source.PROM2PG)) {
            LoadGenerator.Result first = phase(load, walJdbc, report, "first-pass", 0, warmupRounds, 0);
            acknowledged += first.samplesAcknowledged();
            if (remotePrefill) {
                acknowledged += phase(load, walJdbc, report, "prefill", timeline.firstPrefill(), prefillRounds, 0,
                        Math.max(1, Math.min(20, PREFILL_SLICE_SAMPLES / seriesCount)), null).samplesAcknowledged();
                if (!peer) {
                    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
                        report.set(report.size() - 1, report.get(report.size() - 1) + "\n           head after the prefill: "
                                + Prefill.sizes(c, schema));
                    }
                }
            } else if (sqlPrefill) {
                report.add(Prefill.run(jdbc, schema, start, prefillHours, interval));
                System.out.println(report.get(report.size() - 1));
            }
            steady = phase(load, walJdbc, report, "steady", timeline.firstSteady(), rounds, 0, rounds,
                    steadyCheckpoint ? new Checkpoint(jdbc) : null);
            acknowledged += steady.samplesAcknowledged();
            if (pacedRounds > 0) {
                acknowledged += phase(load, walJdbc, report, "paced", timeline.firstPaced(), pacedRounds, pacedRate)
                        .samplesAcknowledged();
            }
            Thread.sleep(1500);
            report.add(String.format("%s peak heap %.0f MiB, peak RSS %.0f MiB", receiver,
                    monitor.peakHeap() / (1 << 20), monitor.peakRss() / (1 << 20)));
            plot(monitor.points(), out.resolve(peer ? receiver.toLowerCase(Locale.ROOT) + ".png" : "bench.png").toFile(),
                    peer ? receiver + " — " + loadLine : loadLine);
        }

        if (peer) {
            peerEnd(opt, report, metrics, acknowledged, steady, prom2pgRun, out);
            return;
        }
        Properties run = new Properties();
        run.setProperty("start", Long.toString(start));
        run.setProperty("load", String.format("%d %d %d %s", seriesCount, senders, batch, timeline.shape()));
        run.setProperty("steady.samples-per-second", Double.toString(steady.samplesPerSecond()));
        try (var w = Files.newBufferedWriter(timelineFile)) {
            run.store(w, "the prom2pg run's timeline and steady rate, for the peer's run");
        }

        // every acknowledged sample from the first pass on: the prefill by remote write is acknowledged
        // too, the one by SQL lies before the first pass
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

        // the rows the phases after the prefill wrote (those of a prefill by remote write would be
        // a COPY into an empty table of a different size of load)
        long copyFrom = remotePrefill ? timeline.time(timeline.firstSteady()) : start;
        WriteBaseline.Result copy = WriteBaseline.run(jdbc, "postgres", schema, copyFrom);
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
            WriteBaseline.Result r = WriteBaseline.run(jdbc, "postgres", schema, copyFrom, method, Integer.parseInt(v[0]), Integer.parseInt(v[1]));
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

    /**
     * The peer's end: what its own metrics say it appended, its WAL on disk, and the ratio of the
     * steady rates; appended to the prom2pg run's summary.
     */
    private static void peerEnd(Map<String, String> opt, List<String> report, URI metrics, long acknowledged,
            LoadGenerator.Result steady, Properties prom2pgRun, Path out) throws Exception {
        String receiver = opt.get("receiver");
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(metrics).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        report.add(String.format("%s head: %,.0f series, %,.0f samples appended (its own metrics) of %,d acknowledged",
                receiver, metric(text, "prometheus_tsdb_head_series"),
                metric(text, "prometheus_tsdb_head_samples_appended_total"), acknowledged));
        if (opt.containsKey("receiver-data")) {
            Path wal = Path.of(opt.get("receiver-data"), "wal");
            long bytes;
            try (var files = Files.walk(wal)) {
                bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
            }
            report.add(String.format("%s WAL on disk: %,.1f MiB (%.1f bytes a sample acknowledged)", receiver,
                    bytes / 1048576.0, acknowledged == 0 ? 0.0 : (double) bytes / acknowledged));
        }
        double prom2pgSteady = Double.parseDouble(prom2pgRun.getProperty("steady.samples-per-second"));
        report.add(String.format("ratio steady prom2pg / %s: %.2f", receiver, prom2pgSteady / steady.samplesPerSecond()));
        String lines = String.join("\n", report) + "\n";
        Files.writeString(out.resolve("summary.txt"), lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        System.out.println();
        System.out.print(lines);
        System.out.println("plot: " + out.resolve(receiver.toLowerCase(Locale.ROOT) + ".png"));
    }

    /** The sum of a metric's samples (all its label sets) in the text exposition format; 0 when absent. */
    private static double metric(String text, String name) {
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
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

    /** A benchmark's {@code --name value} arguments, by name. */
    static Map<String, String> options(String[] args) {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        return opt;
    }
}
