package io.prom2pg.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.proto.RemoteWriteV2;

/** A remote write 1.0 client as Prometheus is one: protobuf, snappy block format, HTTP POST. */
public final class RemoteWrite {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private RemoteWrite() {
    }

    public static HttpResponse<String> post(URI uri, WriteRequest request) throws IOException, InterruptedException {
        return postBody(uri, SnappyDataFormat.compress(request.toByteArray()), "application/x-protobuf");
    }

    public static HttpResponse<String> postBody(URI uri, byte[] body, String contentType)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .header("User-Agent", "prom2pg-test")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A series with labels given as name, value, name, value... */
    public static TimeSeries.Builder series(String... nameValues) {
        TimeSeries.Builder ts = TimeSeries.newBuilder();
        for (int i = 0; i < nameValues.length; i += 2) {
            ts.addLabels(Label.newBuilder().setName(nameValues[i]).setValue(nameValues[i + 1]));
        }
        return ts;
    }

    public static Sample sample(long timestampMillis, double value) {
        return Sample.newBuilder().setTimestamp(timestampMillis).setValue(value).build();
    }

    public static byte[] fixture(String name) {
        try (InputStream in = RemoteWrite.class.getResourceAsStream("/fixtures/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static WriteRequest decodeFixture(String name) {
        try {
            return WriteRequest.parseFrom(SnappyDataFormat.decompress(fixture(name), Integer.MAX_VALUE));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The metadata a request carries, as {@code family -> "type|help|unit"} (as stored). */
    public static java.util.Map<String, String> metadataOf(WriteRequest request) {
        java.util.Map<String, String> expected = new java.util.TreeMap<>();
        for (io.prom2pg.proto.RemoteWriteV1.MetricMetadata m : request.getMetadataList()) {
            expected.put(m.getMetricFamilyName(), m.getType().name().toLowerCase() + "|" + m.getHelp() + "|" + m.getUnit());
        }
        return expected;
    }

    /**
     * A remote write 2.0 request of one series {@code metric{job="x"}}: samples 3 at t0 and 4 at
     * t0 + 15 s, an integer native histogram (count 7, sum 12.5, schema 3, one bucket of 7) at
     * t0 + 30 s, and an exemplar {@code {trace_id="abc"} 0.42} at t0.
     */
    public static RemoteWriteV2.Request v2WithHistogramAndExemplar(String metric, long t0) {
        return RemoteWriteV2.Request.newBuilder()
                .addAllSymbols(java.util.List.of("", "__name__", metric, "job", "x", "trace_id", "abc"))
                .addTimeseries(RemoteWriteV2.TimeSeries.newBuilder().addAllLabelsRefs(java.util.List.of(1, 2, 3, 4))
                        .addSamples(RemoteWriteV2.Sample.newBuilder().setTimestamp(t0).setValue(3))
                        .addSamples(RemoteWriteV2.Sample.newBuilder().setTimestamp(t0 + 15_000).setValue(4))
                        .addHistograms(RemoteWriteV2.Histogram.newBuilder().setCountInt(7).setSum(12.5).setSchema(3)
                                .setTimestamp(t0 + 30_000)
                                .addPositiveSpans(RemoteWriteV2.BucketSpan.newBuilder().setOffset(0).setLength(1))
                                .addPositiveDeltas(7))
                        .addExemplars(RemoteWriteV2.Exemplar.newBuilder().addAllLabelsRefs(java.util.List.of(5, 6))
                                .setValue(0.42).setTimestamp(t0)))
                .build();
    }
}
