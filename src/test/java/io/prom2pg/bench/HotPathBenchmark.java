package io.prom2pg.bench;

import java.util.concurrent.TimeUnit;

import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.decode.Labels;
import io.prom2pg.decode.RemoteWriteV1Reader;
import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.series.LabelSet;
import io.prom2pg.series.SeriesCache;
import io.prom2pg.store.SampleChunk;
import io.prom2pg.store.SampleCopyWriter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-request hot path, one 2000-sample request of Prometheus-shaped series at a time
 * (scores are per request; divide by 2000 for per sample). Run with {@code bench/jmh.sh}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HotPathBenchmark {

    private byte[] compressed;
    private byte[] body;
    private DecodedWrite decoded;
    private SeriesCache cache;
    private SampleChunk chunk;

    @Setup
    public void setUp() {
        BenchSeries series = new BenchSeries(2000);
        body = series.request(0, 2000, 1_795_493_700_000L, 42.0);
        compressed = SnappyDataFormat.compress(body);
        decoded = RemoteWriteV1Reader.read(body);
        cache = new SeriesCache(2_000_000);
        for (int i = 0; i < decoded.seriesCount(); i++) {
            cache.put(decoded.labelHash(i), i + 1);
        }
        chunk = new SampleChunk(0, 2000);
        for (int i = 0; i < 2000; i++) {
            chunk.add(1_795_493_700_000L, i + 1, i * 0.5);
        }
    }

    /** snappy block decompression of the body. */
    @Benchmark
    public byte[] snappy() {
        return SnappyDataFormat.decompress(compressed, Integer.MAX_VALUE);
    }

    /** prom2pg's streaming reader: label hashes and sample columns. */
    @Benchmark
    public DecodedWrite decodeStreaming() {
        return RemoteWriteV1Reader.read(body);
    }

    /** The generated protobuf classes, the approach the streaming reader replaced (for comparison). */
    @Benchmark
    public WriteRequest decodeGeneratedClasses() throws Exception {
        return WriteRequest.parseFrom(body);
    }

    /** Series resolution on the hot path: every series found in the cache. */
    @Benchmark
    public long resolveCached() {
        long sum = 0;
        for (int i = 0; i < decoded.seriesCount(); i++) {
            sum += cache.get(decoded.labelHash(i));
        }
        return sum;
    }

    /** Series resolution on a miss: decode labels to strings, canonicalise, 128-bit key. */
    @Benchmark
    public long resolveMissCanonicalise() {
        long sum = 0;
        for (int i = 0; i < decoded.seriesCount(); i++) {
            Labels labels = decoded.labels(i);
            sum += LabelSet.of(labels.names(), labels.values()).key()[0];
        }
        return sum;
    }

    /** Building the binary COPY payload of a 2000-sample chunk. */
    @Benchmark
    public byte[] copyEncode() {
        return SampleCopyWriter.encode(chunk);
    }
}
