package io.prom2pg.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteRead.LabelMatcher;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.proto.RemoteRead.ReadResponse;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.store.SampleChunk;
import io.prom2pg.store.Sealer;

/**
 * The sealed tier at scale, one window of a running prom2pg ({@code bench/sealing.sh}):
 * <ol>
 *   <li>{@code fill}: the series by remote write (one round), then {@code --hours} of every series
 *   at 15 s in the 4-hour window that ended at least {@code --seal-after-ms} (2 h) ago, inserted
 *   round by round as ingest leaves them (time-major heap, index built by appending), values a mix
 *   of shapes (constants, integer and float counters, integer gauges, 2-decimal gauges) with
 *   millisecond jitter; then the head measured;</li>
 *   <li>{@code seal}: waits until prom2pg (started again with sealing on) has sealed that window,
 *   PostgreSQL's and prom2pg's CPU in the meantime;</li>
 *   <li>{@code sealed}: the same window measured from the sealed tier, and checked against the
 *   head's count and sum.</li>
 *   <li>{@code backlog}: late samples into the sealed window by remote write against ingest into
 *   the head, a retry of them, and their merge into the window's blocks.</li>
 * </ol>
 * Each measure: bytes per sample (the window's tables and indexes), {@code count(*), sum(value)}
 * from {@code prom2pg.metrics} over the window (median of 3), remote read of 10 series over 3 h at
 * prom2pg's endpoint (p50 and p90 of 30 after 20 warm-ups; every answer checked for its samples).
 */
public final class SealBench {

    private static final long INTERVAL = 15_000;
    /**
     * Reads before the 30 timed ones, each of other series: with 3, both JVMs' read paths were
     * still being compiled (p50 34.5 ms at the endpoint against 26 ms through a Prometheus that
     * read the same store after them).
     */
    private static final int WARM_UP = 20;

    // HTTP/1.1 as Prometheus sends it (no h2c upgrade attempt on each request)
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private SealBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String jdbc = a.get("jdbc");
        URI base = URI.create(a.get("url"));
        Path state = Path.of(a.get("state"));
        switch (args[0]) {
            case "fill" -> fill(jdbc, base, state, Integer.parseInt(a.get("series")), Integer.parseInt(a.get("hours")),
                    Long.parseLong(a.getOrDefault("seal-after-ms", "7200000")));
            case "seal" -> seal(jdbc, state, Long.parseLong(a.get("pid")));
            case "sealed" -> measure("sealed", jdbc, base, load(state), true, state.resolveSibling("reads-sealed"));
            case "backlog" -> backlog(jdbc, base, load(state), Integer.parseInt(a.get("rounds")), Long.parseLong(a.get("pid")));
            default -> throw new IllegalArgumentException("fill, seal, sealed or backlog, not " + args[0]);
        }
    }

    private static void fill(String jdbc, URI base, Path state, int seriesCount, int hours, long sealAfterMillis) throws Exception {
        if (hours < 1 || hours > 4) {
            throw new IllegalArgumentException("HOURS is 1 to 4 (one 4-hour window), not " + hours);
        }
        long end = Math.floorDiv(System.currentTimeMillis() - sealAfterMillis, Sealer.BLOCK_MILLIS) * Sealer.BLOCK_MILLIS;
        long start = end - Sealer.BLOCK_MILLIS;
        int rounds = hours * 240;
        // round 0 by remote write: the series as prom2pg makes them, with their labels
        BenchSeries series = new BenchSeries(seriesCount);
        LoadGenerator load = new LoadGenerator(base.resolve("/api/v1/write"), series, 4, 2000, start, INTERVAL);
        LoadGenerator.Result first = load.run("first-pass", 0, 1, 0);
        if (first.samplesAcknowledged() != seriesCount) {
            throw new IllegalStateException("the first round was not taken whole: " + first.samplesAcknowledged());
        }
        long t0 = System.nanoTime();
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            try (PreparedStatement ps = c.prepareStatement("SELECT prom2pg.ensure_head_partition(to_timestamp(? / 1000.0), ?::interval)")) {
                for (long w = start; w < start + rounds * INTERVAL; w += SampleChunk.WINDOW_MILLIS) {
                    ps.setLong(1, w);
                    ps.setString(2, SampleChunk.WINDOW_MILLIS + " milliseconds");
                    ps.execute();
                }
            }
            // rounds 1.. in SQL, a 15-minute window's rounds per statement, each round across every
            // series before the next (the order remote write brings them in). Values by shape, from
            // the series id s and the round i; the time of round i of series s is the round's
            // scrape time plus the series' offset in the interval plus a jitter of -3..3 ms
            String insert = "INSERT INTO prom2pg.samples (time, series_id, value)"
                    + " SELECT to_timestamp((? + i * 15000 + 5 + s.id * 7919 % 14990 + hashint8(s.id * 1000003 + i) % 4) / 1000.0), s.id,"
                    + "  CASE s.id % 5"
                    + "   WHEN 0 THEN (s.id % 4)::float8"                                        // a constant
                    + "   WHEN 1 THEN (s.id % 1000 + i * (s.id % 13) + i / 3)::float8"           // an integer counter
                    + "   WHEN 2 THEN s.id % 1000 + i * 0.37 + (i % 7) * 0.0101"                  // a float counter
                    + "   WHEN 3 THEN (s.id % 500 + (i * 7 + s.id) % 11)::float8"                // an integer gauge
                    + "   ELSE round((s.id % 900 + 3 * sin(i * 0.1 + s.id))::numeric, 2)::float8" // a 2-decimal gauge
                    + "  END"
                    + " FROM generate_series(?, ?) i CROSS JOIN prom2pg.series s ORDER BY i, s.id";
            long rows = 0;
            int perWindow = (int) (SampleChunk.WINDOW_MILLIS / INTERVAL);
            try (PreparedStatement ps = c.prepareStatement(insert)) {
                for (int from = 1; from < rounds; from = (from / perWindow + 1) * perWindow) {
                    int to = Math.min(rounds - 1, (from / perWindow + 1) * perWindow - 1);
                    ps.setLong(1, start);
                    ps.setInt(2, from);
                    ps.setInt(3, to);
                    rows += ps.executeUpdate();
                }
            }
            try (Statement st = c.createStatement()) {
                st.execute("CHECKPOINT");
                st.execute("VACUUM ANALYZE prom2pg.samples");
            }
            System.out.printf("fill: %,d series, %d h at 15 s in the window %s – %s: %,d samples by remote write, %,d by SQL in %.0f s%n",
                    seriesCount, hours, Instant.ofEpochMilli(start), Instant.ofEpochMilli(end), first.samplesAcknowledged(), rows,
                    (System.nanoTime() - t0) / 1e9);
        }
        Properties p = new Properties();
        p.setProperty("start", Long.toString(start));
        p.setProperty("end", Long.toString(end));
        p.setProperty("series", Integer.toString(seriesCount));
        p.setProperty("rounds", Integer.toString(rounds));
        Totals head = measure("head", jdbc, base, p, false, state.resolveSibling("reads-head"));
        p.setProperty("count", Long.toString(head.count));
        p.setProperty("sum", Double.toString(head.sum));
        try (var out = Files.newOutputStream(state)) {
            p.store(out, "prom2pg seal benchmark");
        }
    }

    /** Waits for the window to be sealed (its mark in sealed_windows, no head partition left in it). */
    private static void seal(String jdbc, Path state, long prom2pgPid) throws Exception {
        Properties p = load(state);
        long start = Long.parseLong(p.getProperty("start"));
        long end = Long.parseLong(p.getProperty("end"));
        CpuUsage before = CpuUsage.now(prom2pgPid, true);
        long t0 = System.nanoTime();
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            while (!sealed(c, start, end)) {
                if (System.nanoTime() - t0 > 3_600_000_000_000L) {
                    throw new IllegalStateException("the window was not sealed within an hour");
                }
                Thread.sleep(200);
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        CpuUsage cpu = CpuUsage.now(prom2pgPid, true).since(before);
        System.out.printf("seal: waited %.1f s for the window (prom2pg's first seal run starts about 15 s in); %s%n",
                wall, cpu.line(wall, "prom2pg", true));
    }

    private static boolean sealed(Connection c, long start, long end) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM prom2pg.sealed_windows WHERE start = to_timestamp(? / 1000.0)),"
                + " (SELECT count(*) FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid"
                + "  WHERE i.inhparent = 'prom2pg.samples'::regclass AND k.relname >= 'samples_' || to_char(to_timestamp(? / 1000.0) AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MI')"
                + "  AND k.relname < 'samples_' || to_char(to_timestamp(? / 1000.0) AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MI'))")) {
            ps.setLong(1, start);
            ps.setLong(2, start);
            ps.setLong(3, end);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1) && rs.getLong(2) == 0;
            }
        }
    }

    /**
     * A backlog into the sealed window, as Prometheus replays one after an outage, against ingest
     * into the head in the same run: {@code rounds} of every series at the current time (the
     * head), then {@code rounds} into the sealed window at times between its samples (each
     * checked against the window's blocks, then stored as rows), then the same again (a retry:
     * nothing added). Then waits until prom2pg has merged the late rows into the window's blocks
     * and checks the window holds each sample once.
     */
    private static void backlog(String jdbc, URI base, Properties p, int rounds, long prom2pgPid) throws Exception {
        long start = Long.parseLong(p.getProperty("start"));
        long end = Long.parseLong(p.getProperty("end"));
        int seriesCount = Integer.parseInt(p.getProperty("series"));
        long stored = Long.parseLong(p.getProperty("count"));
        if (rounds >= Integer.parseInt(p.getProperty("rounds"))) {
            throw new IllegalArgumentException("the backlog's rounds go between the window's samples: fewer than " + p.getProperty("rounds"));
        }
        BenchSeries series = new BenchSeries(seriesCount);
        URI write = base.resolve("/api/v1/write");
        long now = Math.floorDiv(System.currentTimeMillis(), INTERVAL) * INTERVAL - rounds * INTERVAL;
        LoadGenerator head = new LoadGenerator(write, series, 4, 2000, now, INTERVAL);
        head.setProm2pgPid(prom2pgPid);
        LoadGenerator.Result intoHead = print(head.run("head", 0, rounds, 0));
        // rounds 1.. at the window's start plus a multiple of 15 s: the SQL fill put round i of
        // every series 2 to 14,997 ms after that, so none of these times is stored yet
        LoadGenerator late = new LoadGenerator(write, series, 4, 2000, start, INTERVAL);
        late.setProm2pgPid(prom2pgPid);
        LoadGenerator.Result intoSealed = print(late.run("late", 1, rounds, 0));
        LoadGenerator.Result retried = print(late.run("retry", 1, rounds, 0));
        long expected = stored + (long) rounds * seriesCount;
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            // the late rows are merged at the seal runs during and after the phases
            long t0 = System.nanoTime();
            while (windowRows(c, start, end) > 0) {
                if (System.nanoTime() - t0 > 1_800_000_000_000L) {
                    throw new IllegalStateException("the late rows were not merged into the blocks within 30 minutes");
                }
                Thread.sleep(200);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(sum(count), 0) FROM prom2pg.sample_blocks"
                    + " WHERE first_time >= ? AND last_time < ?")) {
                ps.setLong(1, start);
                ps.setLong(2, end);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) != expected) {
                        throw new IllegalStateException("backlog: " + rs.getLong(1) + " samples in the window's blocks, expected " + expected);
                    }
                }
            }
        }
        System.out.printf("backlog: into the sealed window %.2fx the head's rate, retried %.2fx; the window's blocks hold"
                        + " %,d samples after the merge, each once%n",
                intoSealed.samplesPerSecond() / intoHead.samplesPerSecond(),
                retried.samplesPerSecond() / intoHead.samplesPerSecond(), expected);
    }

    private static LoadGenerator.Result print(LoadGenerator.Result r) {
        System.out.println("backlog " + r.line().replace("\n", "\n        "));
        return r;
    }

    /** Rows of the head in [start, end). */
    private static long windowRows(Connection c, long start, long end) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM prom2pg.samples"
                + " WHERE time >= to_timestamp(? / 1000.0) AND time < to_timestamp(? / 1000.0)")) {
            ps.setLong(1, start);
            ps.setLong(2, end);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    record Totals(long count, double sum) {
    }

    private static Totals measure(String tier, String jdbc, URI base, Properties p, boolean check, Path bodies) throws Exception {
        long start = Long.parseLong(p.getProperty("start"));
        long end = Long.parseLong(p.getProperty("end"));
        int seriesCount = Integer.parseInt(p.getProperty("series"));
        int rounds = Integer.parseInt(p.getProperty("rounds"));
        Totals totals;
        long bytes;
        double[] scans = new double[3];
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            try (Statement st = c.createStatement()) {
                st.execute("VACUUM ANALYZE");
            }
            // the whole view: the store holds this window only (a filter on time would decode every
            // block before filtering; samples_between is the reader for a range)
            String scan = "SELECT count(*), sum(value) FROM prom2pg.metrics";
            Totals t = null;
            for (int i = 0; i < scans.length; i++) {
                long t0 = System.nanoTime();
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(scan)) {
                    rs.next();
                    t = new Totals(rs.getLong(1), rs.getDouble(2));
                }
                scans[i] = (System.nanoTime() - t0) / 1e6;
            }
            totals = t;
            bytes = bytes(c, tier.equals("head") ? "samples\\_%" : "sample\\_blocks%");
        }
        Arrays.sort(scans);
        long expected = (long) seriesCount * rounds;
        if (totals.count != expected) {
            throw new IllegalStateException(tier + ": " + totals.count + " samples in the window, expected " + expected);
        }
        if (check) {
            long count = Long.parseLong(p.getProperty("count"));
            double sum = Double.parseDouble(p.getProperty("sum"));
            // the sum's last digits depend on the order it is added in (the plan differs by tier);
            // the values themselves are compared bit for bit through the remote reads below
            if (totals.count != count || Math.abs(totals.sum - sum) > Math.abs(sum) * 1e-9) {
                throw new IllegalStateException(tier + ": count " + totals.count + " sum " + totals.sum + ", the head held " + count + " and " + sum);
            }
        }
        double[] reads = remoteReads(base, seriesCount, start, Math.min(end, start + 3 * 3_600_000L), rounds, bodies);
        double match = seriesMatch(jdbc, seriesCount);
        String answers = Long.toHexString((long) reads[2]);
        if (check && !answers.equals(p.getProperty("reads"))) {
            throw new IllegalStateException(tier + ": the remote reads' samples differ from the head's (checksum " + answers
                    + ", the head's " + p.getProperty("reads") + ")");
        }
        p.setProperty("reads", answers);
        System.out.printf("%-7s %,d samples, %.2f bytes a sample (tables and indexes, series table not counted);"
                        + " count(*), sum(value) from prom2pg.metrics (the window) %.0f ms (%.1fM samples/s), median of 3;"
                        + " remote read of 10 series over %s: p50 %.1f ms, p90 %.1f ms (30 reads; of which matching the"
                        + " 10 series in prom2pg.series, p50 %.1f ms)%n",
                tier, totals.count, (double) bytes / totals.count, scans[1], totals.count / scans[1] / 1000,
                rounds >= 720 ? "3 h" : (rounds / 240) + " h (all the window holds)", reads[0], reads[1], match);
        return totals;
    }

    /** The window's tables and indexes: the head's partitions, or the block partitions. */
    private static long bytes(Connection c, String like) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT coalesce(sum(pg_total_relation_size(k.oid)), 0) FROM pg_class k"
                     + " JOIN pg_namespace n ON n.oid = k.relnamespace WHERE n.nspname = 'prom2pg' AND k.relkind = 'r'"
                     + " AND k.relname LIKE '" + like + "'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * p50 and p90 ms of remote reads of 10 series (one metric name, ten pods) over [start, end),
     * and a checksum of every answer's labels, timestamps and value bits. Each request's body is
     * kept in {@code bodies} (NN.bin, in the order sent) for bench/sealing.sh to send again by curl;
     * the time is until the answer's last byte, its decoding (the client's work) not included.
     */
    private static double[] remoteReads(URI base, int seriesCount, long start, long end, int rounds, Path bodies) throws Exception {
        int expectedSamples = 10 * (int) Math.min(rounds, (end - start) / INTERVAL);
        List<Double> ms = new ArrayList<>();
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        java.nio.ByteBuffer sample = java.nio.ByteBuffer.allocate(16);
        java.nio.file.Files.createDirectories(bodies);
        for (int r = 0; r < WARM_UP + 30; r++) {
            ReadRequest request = ReadRequest.newBuilder().addQueries(Query.newBuilder()
                    .setStartTimestampMs(start).setEndTimestampMs(end - 1).addAllMatchers(matchers(r, seriesCount))).build();
            byte[] body = SnappyDataFormat.compress(request.toByteArray());
            java.nio.file.Files.write(bodies.resolve(String.format("%02d.bin", r)), body);
            HttpRequest http = HttpRequest.newBuilder(base.resolve("/api/v1/read"))
                    .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "snappy")
                    .header("X-Prometheus-Remote-Read-Version", "0.1.0")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            long t0 = System.nanoTime();
            HttpResponse<byte[]> response = HTTP.send(http, HttpResponse.BodyHandlers.ofByteArray());
            double took = (System.nanoTime() - t0) / 1e6;
            if (response.statusCode() != 200) {
                throw new IOException("remote read answered " + response.statusCode() + ": " + new String(response.body()));
            }
            ReadResponse read = ReadResponse.parseFrom(SnappyDataFormat.decompress(response.body(), Integer.MAX_VALUE));
            List<TimeSeries> got = read.getResults(0).getTimeseriesList();
            int samples = got.stream().mapToInt(TimeSeries::getSamplesCount).sum();
            if (got.size() != 10 || samples != expectedSamples) {
                throw new IllegalStateException("remote read: " + got.size() + " series, " + samples + " samples; expected 10 and " + expectedSamples);
            }
            for (TimeSeries ts : got) {
                crc.update(ts.getLabelsList().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                for (var x : ts.getSamplesList()) {
                    sample.clear();
                    sample.putLong(x.getTimestamp()).putLong(Double.doubleToRawLongBits(x.getValue()));
                    crc.update(sample.array());
                }
            }
            if (r >= WARM_UP) {
                ms.add(took);
            }
        }
        ms.sort(null);
        return new double[] {ms.get(ms.size() / 2), ms.get(ms.size() * 9 / 10), crc.getValue()};
    }

    /** p50 ms of the remote reads' series lookup alone: the matchers as RemoteReader turns them into SQL. */
    private static double seriesMatch(String jdbc, int seriesCount) throws SQLException {
        List<Double> ms = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            for (int r = 0; r < WARM_UP + 30; r++) {
                io.prom2pg.read.SeriesMatch match = io.prom2pg.read.SeriesMatch.of(matchers(r, seriesCount));
                long t0 = System.nanoTime();
                try (PreparedStatement ps = match.select("prom2pg").prepare(c, 100_000); ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rs.getString(3);
                    }
                }
                if (r >= WARM_UP) {
                    ms.add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        ms.sort(null);
        return ms.get(ms.size() / 2);
    }

    /** The matchers of read r: ten series of one metric, different ones each read. */
    private static List<LabelMatcher> matchers(int r, int seriesCount) {
        int firstPod = (r * 9_973) % Math.max(1, seriesCount / BenchSeries.METRICS - 10);
        return List.of(matcher(LabelMatcher.Type.EQ, "__name__", "bench_metric_0"),
                matcher(LabelMatcher.Type.RE, "pod", podsRegex(firstPod)));
    }

    /**
     * Pods {@code first} .. {@code first + 9}: BenchSeries names series i's pod "app-(i / 10)-..."
     * and its metric bench_metric_(i % 10), so each pod has one series of bench_metric_0.
     */
    private static String podsRegex(int first) {
        StringBuilder re = new StringBuilder("app-(");
        for (int k = 0; k < 10; k++) {
            re.append(k == 0 ? "" : "|").append(first + k);
        }
        return re.append(")-.*").toString();
    }

    private static LabelMatcher matcher(LabelMatcher.Type type, String name, String value) {
        return LabelMatcher.newBuilder().setType(type).setName(name).setValue(value).build();
    }

    private static Properties load(Path state) throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(state)) {
            p.load(in);
        }
        return p;
    }
}
