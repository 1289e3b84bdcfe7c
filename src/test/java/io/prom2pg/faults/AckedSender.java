package io.prom2pg.faults;

import java.io.IOException;
import java.io.PrintWriter;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;

/**
 * The fault suite's sender and checker (e2e/faults.sh).
 *
 * <p>Sending: one request at a time, like one Prometheus shard, each carrying one sample for each
 * of {@code --series} series {@code fault_test{cluster, series}} at its own timestamp
 * {@code t0 + seq * 1000 + offset}. A request is retried like Prometheus retries (5xx, 429 and
 * connection errors, with backoff; a connection error moves on to the next target) until it is
 * answered 2xx; every acknowledged request is appended to the ack log before the next is sent.
 *
 * <p>Checking: every request in the ack logs must have all of its samples in PostgreSQL. With two
 * logs from an HA pair, a request counts as stored when either replica's copy of that round is.
 */
public final class AckedSender {

    private AckedSender() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = options(args);
        if (a.containsKey("check")) {
            System.exit(check(a) ? 0 : 1);
        }
        send(a);
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String key = args[i].replaceFirst("^--", "");
            if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                options.put(key, args[++i]);
            } else {
                options.put(key, "true");
            }
        }
        return options;
    }

    private static void send(Map<String, String> a) throws Exception {
        List<URI> targets = new ArrayList<>();
        for (String t : a.get("targets").split(",")) {
            targets.add(URI.create(t));
        }
        int series = Integer.parseInt(a.getOrDefault("series", "200"));
        long t0 = Long.parseLong(a.get("t0"));
        long offset = Long.parseLong(a.getOrDefault("offset-ms", "0"));
        long intervalMs = Long.parseLong(a.getOrDefault("interval-ms", "50"));
        long seconds = Long.parseLong(a.getOrDefault("seconds", "30"));
        String cluster = a.getOrDefault("cluster", "faults");
        String replica = a.get("replica");
        Path ackLog = Path.of(a.get("ack-log"));
        Path stopFile = a.containsKey("stop-file") ? Path.of(a.get("stop-file")) : null;

        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        Map<String, Integer> statuses = new TreeMap<>();
        Map<String, Long> slowest = new TreeMap<>();
        long sent = 0;
        long acknowledged = 0;
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        int target = 0;
        try (PrintWriter log = new PrintWriter(Files.newBufferedWriter(ackLog))) {
            for (long seq = 0; System.nanoTime() < end && (stopFile == null || !Files.exists(stopFile)); seq++) {
                long time = t0 + seq * 1000 + offset;
                byte[] body = SnappyDataFormat.compress(request(cluster, replica, series, time, seq).toByteArray());
                sent++;
                long backoff = 50;
                while (true) {
                    String outcome;
                    long started = System.nanoTime();
                    try {
                        HttpResponse<String> answer = http.send(HttpRequest.newBuilder(targets.get(target))
                                .timeout(Duration.ofSeconds(30))
                                .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "snappy")
                                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
                        outcome = String.valueOf(answer.statusCode());
                        if (answer.statusCode() / 100 == 4 && answer.statusCode() != 429) {
                            System.err.println("refused " + answer.statusCode() + ": " + answer.body());
                        }
                    } catch (IOException e) {
                        outcome = "connection error";
                        target = (target + 1) % targets.size();
                    }
                    long millis = (System.nanoTime() - started) / 1_000_000;
                    statuses.merge(outcome, 1, Integer::sum);
                    slowest.merge(outcome, millis, Math::max);
                    if (outcome.startsWith("2")) {
                        log.println(seq + " " + time);
                        log.flush();
                        acknowledged++;
                        break;
                    }
                    if (outcome.startsWith("4") && !outcome.equals("429")) {
                        break; // not retried, as Prometheus does not
                    }
                    Thread.sleep(backoff);
                    backoff = Math.min(backoff * 2, 1000);
                }
                Thread.sleep(intervalMs);
            }
        }
        System.out.printf("sender %s: sent %d requests (%d samples), acknowledged %d; answers %s; slowest answer (ms) %s%n",
                replica == null ? cluster : replica, sent, sent * series, acknowledged, statuses, slowest);
        // --expect-status 503: the load must have seen that answer; --max-ms 503:5000: none slower
        String expected = a.get("expect-status");
        if (expected != null && !statuses.containsKey(expected)) {
            System.out.println("sender: expected some " + expected + " answers, got none");
            System.exit(2);
        }
        String max = a.get("max-ms");
        if (max != null) {
            String[] statusAndMillis = max.split(":");
            long slowestMillis = slowest.getOrDefault(statusAndMillis[0], 0L);
            if (slowestMillis > Long.parseLong(statusAndMillis[1])) {
                System.out.println("sender: a " + statusAndMillis[0] + " answer took " + slowestMillis + " ms");
                System.exit(2);
            }
        }
    }

    private static WriteRequest request(String cluster, String replica, int series, long time, long seq) {
        WriteRequest.Builder request = WriteRequest.newBuilder();
        for (int s = 0; s < series; s++) {
            TimeSeries.Builder ts = TimeSeries.newBuilder()
                    .addLabels(Label.newBuilder().setName("__name__").setValue("fault_test"))
                    .addLabels(Label.newBuilder().setName("cluster").setValue(cluster));
            if (replica != null) {
                ts.addLabels(Label.newBuilder().setName("__replica__").setValue(replica));
            }
            ts.addLabels(Label.newBuilder().setName("series").setValue(String.valueOf(s)))
                    .addSamples(Sample.newBuilder().setTimestamp(time).setValue(seq));
            request.addTimeseries(ts);
        }
        return request.build();
    }

    private static boolean check(Map<String, String> a) throws Exception {
        int series = Integer.parseInt(a.getOrDefault("series", "200"));
        long t0 = Long.parseLong(a.get("t0"));
        String cluster = a.getOrDefault("cluster", "faults");
        String schema = a.getOrDefault("schema", "prom2pg");
        List<Long> offsets = new ArrayList<>();
        for (String o : a.getOrDefault("offsets-ms", "0").split(",")) {
            offsets.add(Long.parseLong(o));
        }
        Map<Long, Long> stored = new HashMap<>();
        try (Connection c = DriverManager.getConnection(a.get("jdbc"), a.getOrDefault("user", "postgres"), "");
             PreparedStatement ps = c.prepareStatement("SELECT (extract(epoch FROM s.time) * 1000)::bigint, count(*) FROM "
                     + schema + ".samples s JOIN " + schema + ".series r ON r.id = s.series_id"
                     + " WHERE r.metric_name = 'fault_test' AND r.labels ->> 'cluster' = ? GROUP BY 1")) {
            ps.setString(1, cluster);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    stored.put(rs.getLong(1), rs.getLong(2));
                }
            }
        }
        long acknowledged = 0;
        long missing = 0;
        java.util.Set<Long> rounds = new java.util.TreeSet<>();
        for (String file : a.get("ack-log").split(",")) {
            for (String line : Files.readAllLines(Path.of(file))) {
                if (!line.isBlank()) {
                    acknowledged++;
                    rounds.add(Long.parseLong(line.split(" ")[0]));
                }
            }
        }
        List<Long> missingRounds = new ArrayList<>();
        for (long seq : rounds) {
            boolean found = false;
            for (long o : offsets) {
                found |= stored.getOrDefault(t0 + seq * 1000 + o, 0L) == series;
            }
            if (!found) {
                missing++;
                if (missingRounds.size() < 10) {
                    missingRounds.add(seq);
                }
            }
        }
        long samplesStored = stored.values().stream().mapToLong(Long::longValue).sum();
        System.out.printf("check %s: %d acknowledged requests (%d rounds, %d samples); stored %d samples;"
                + " acknowledged rounds missing: %d%s%n", cluster, acknowledged, rounds.size(), rounds.size() * (long) series,
                samplesStored, missing, missingRounds.isEmpty() ? "" : " (first: " + missingRounds + ")");
        return missing == 0 && !rounds.isEmpty();
    }
}
