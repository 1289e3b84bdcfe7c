package io.prom2pg.store;

/**
 * One row of the histograms table: a native histogram sample of a stored series, lossless: integer
 * or float counts, schema, zero bucket, spans and buckets (deltas for integer histograms, absolute
 * counts for float ones), reset hint, custom bucket bounds.
 */
public record HistogramRow(long seriesId, long time, Long countInt, Double countFloat, double sum, int schema,
                           double zeroThreshold, Long zeroCountInt, Double zeroCountFloat,
                           int[] negativeSpans, long[] negativeDeltas, double[] negativeCounts,
                           int[] positiveSpans, long[] positiveDeltas, double[] positiveCounts,
                           int resetHint, double[] customValues) {
}
