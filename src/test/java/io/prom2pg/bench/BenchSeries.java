package io.prom2pg.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import com.google.protobuf.CodedOutputStream;

/**
 * Prometheus-shaped series for the benchmark: 8 labels each (name, container, instance, job,
 * namespace, node, pod, uid), their label block encoded once as remote write protobuf bytes, so
 * building a request costs the load generator little CPU.
 */
final class BenchSeries {

    static final int METRICS = 10;
    private final byte[][] labelBlocks;

    BenchSeries(int count) {
        this(count, 0);
    }

    /** A set of series; sets with different numbers share no series. */
    BenchSeries(int count, int set) {
        labelBlocks = new byte[count][];
        for (int i = 0; i < count; i++) {
            labelBlocks[i] = encodeLabels(labels(i, set));
        }
    }

    int size() {
        return labelBlocks.length;
    }

    /** Label names and values of series i, sorted by name. */
    static String[] labels(int i, int set) {
        return new String[] {
            "__name__", "bench_metric_" + (i % METRICS),
            "container", "container-" + (i % 7),
            "instance", "10.0." + (i / 250 % 250) + "." + (i % 250) + ":9100",
            "job", "kubernetes-pods",
            "namespace", "namespace-" + (i / 1000 % 100),
            "node", "worker-" + (i % 50) + ".example.internal",
            "pod", "app-" + (i / 10) + "-5d8f7c9b4-x" + Integer.toString(i % 10, 36),
            "uid", String.format("%08x-%04x-4000-8000-%012x", i, set, (long) i * 2654435761L & 0xffffffffffffL),
        };
    }

    private static byte[] encodeLabels(String[] nv) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            for (int j = 0; j < nv.length; j += 2) {
                int size = CodedOutputStream.computeStringSize(1, nv[j]) + CodedOutputStream.computeStringSize(2, nv[j + 1]);
                out.writeTag(1, 2);
                out.writeUInt32NoTag(size);
                out.writeString(1, nv[j]);
                out.writeString(2, nv[j + 1]);
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A WriteRequest with one sample for each series from..to-1, all at the given time. */
    byte[] request(int from, int to, long timestampMillis, double value) {
        try {
            int sampleSize = CodedOutputStream.computeDoubleSize(1, value) + CodedOutputStream.computeInt64Size(2, timestampMillis);
            int sampleField = 1 + CodedOutputStream.computeUInt32SizeNoTag(sampleSize) + sampleSize;
            int total = 0;
            for (int i = from; i < to; i++) {
                int ts = labelBlocks[i].length + sampleField;
                total += 1 + CodedOutputStream.computeUInt32SizeNoTag(ts) + ts;
            }
            byte[] buffer = new byte[total];
            CodedOutputStream out = CodedOutputStream.newInstance(buffer);
            for (int i = from; i < to; i++) {
                out.writeTag(1, 2);
                out.writeUInt32NoTag(labelBlocks[i].length + sampleField);
                out.writeRawBytes(labelBlocks[i]);
                out.writeTag(2, 2);
                out.writeUInt32NoTag(sampleSize);
                out.writeDouble(1, value);
                out.writeInt64(2, timestampMillis);
            }
            out.checkNoSpaceLeft();
            return buffer;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
