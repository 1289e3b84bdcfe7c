package io.prom2pg.bench;

import java.io.BufferedReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;

/**
 * Sends the samples of an OpenMetrics file ({@code bench/value-mix.py}'s {@code samples.om}, the
 * file promtool and VictoriaMetrics are given) to a remote write receiver, as Prometheus replays a
 * backlog: in time order, each request {@code --series-per-request} series with their next
 * {@code --samples-per-series} samples, {@code --senders} shards each owning a fixed share of the
 * series (so every series stays in time order), 5xx and 429 retried. Prints what was sent and
 * acknowledged, and the rate ({@code bench/week.sh}).
 *
 * <p>Usage: {@code WeekBench --samples FILE --url http://host:port [--senders 4]
 * [--series-per-request 250] [--samples-per-series 8]}
 */
public final class WeekBench {

    /** One series of the file: its labels (sorted by name, as the file has them) and its samples in time order. */
    private record Series(List<Label> labels, long[] times, double[] values) {
    }

    private WeekBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Bench.options(args);
        List<Series> series = read(Path.of(a.get("samples")));
        URI uri = URI.create(a.get("url") + "/api/v1/write");
        int senders = Integer.parseInt(a.getOrDefault("senders", "4"));
        int perRequest = Integer.parseInt(a.getOrDefault("series-per-request", "250"));
        int perSeries = Integer.parseInt(a.getOrDefault("samples-per-series", "8"));
        long total = series.stream().mapToLong(s -> s.times().length).sum();
        int longest = series.stream().mapToInt(s -> s.times().length).max().orElse(0);
        System.out.printf("week: %,d samples of %,d series read%n", total, series.size());

        int groups = (series.size() + perRequest - 1) / perRequest;
        LoadGenerator.Tally tally = new LoadGenerator.Tally();
        long start = System.nanoTime();
        LoadGenerator.shards(senders, (sender, http) -> {
            for (int from = 0; from < longest; from += perSeries) {
                for (int g = sender; g < groups; g += senders) {
                    WriteRequest.Builder request = WriteRequest.newBuilder();
                    int samples = 0;
                    for (Series one : series.subList(g * perRequest, Math.min(series.size(), (g + 1) * perRequest))) {
                        TimeSeries.Builder ts = TimeSeries.newBuilder().addAllLabels(one.labels());
                        for (int i = from; i < Math.min(from + perSeries, one.times().length); i++) {
                            ts.addSamples(Sample.newBuilder().setTimestamp(one.times()[i]).setValue(one.values()[i]));
                        }
                        if (ts.getSamplesCount() > 0) {
                            request.addTimeseries(ts);
                            samples += ts.getSamplesCount();
                        }
                    }
                    if (samples > 0) {
                        LoadGenerator.post(http, uri, "prom2pg", SnappyDataFormat.compress(request.build().toByteArray()),
                                samples, tally);
                    }
                }
            }
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        long acknowledged = tally.acknowledged.sum();
        System.out.printf("week: %,d samples acknowledged in %.1f s = %,.0f samples/s (requests built while sending);"
                + " requests %,d, retries %,d, latency p50 %.0f ms, p99 %.0f ms; status %s%n",
                acknowledged, seconds, acknowledged / seconds, tally.requests.sum(), tally.retries.sum(),
                tally.latencyMillis(50), tally.latencyMillis(99), tally.statusCodes());
        if (acknowledged != total) {
            throw new IllegalStateException(acknowledged + " samples acknowledged of " + total);
        }
    }

    /**
     * The file's series: lines {@code name{k="v",...} value seconds.millis}, each series' lines
     * together (as value-mix.py writes them), label values without escapes.
     */
    private static List<Series> read(Path file) throws Exception {
        List<Series> series = new ArrayList<>();
        String key = null;
        List<Label> labels = null;
        long[] times = new long[0];
        double[] values = new double[0];
        int n = 0;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("#")) {
                    continue;
                }
                int close = line.indexOf('}');
                int space = line.indexOf(' ', close + 2);
                String k = line.substring(0, close + 1);
                if (!k.equals(key)) {
                    if (key != null) {
                        series.add(new Series(labels, Arrays.copyOf(times, n), Arrays.copyOf(values, n)));
                    }
                    key = k;
                    labels = labels(k);
                    n = 0;
                }
                if (n == times.length) {
                    times = Arrays.copyOf(times, Math.max(1024, n * 2));
                    values = Arrays.copyOf(values, times.length);
                }
                values[n] = Double.parseDouble(line.substring(close + 2, space));
                // seconds with three decimals: the ms are its digits
                times[n] = Long.parseLong(line.substring(space + 1).replace(".", ""));
                n++;
            }
        }
        if (key != null) {
            series.add(new Series(labels, Arrays.copyOf(times, n), Arrays.copyOf(values, n)));
        }
        return series;
    }

    private static List<Label> labels(String key) {
        int open = key.indexOf('{');
        List<Label> labels = new ArrayList<>();
        labels.add(Label.newBuilder().setName("__name__").setValue(key.substring(0, open)).build());
        for (String pair : key.substring(open + 1, key.length() - 1).split(",")) {
            int eq = pair.indexOf('=');
            labels.add(Label.newBuilder().setName(pair.substring(0, eq)).setValue(pair.substring(eq + 2, pair.length() - 1)).build());
        }
        return labels;
    }
}
