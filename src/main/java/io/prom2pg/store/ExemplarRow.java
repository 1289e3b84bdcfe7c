package io.prom2pg.store;

/** One row of the exemplars table: an exemplar of a stored series, with its own labels (a trace id, say). */
public record ExemplarRow(long seriesId, long time, double value, String[] names, String[] values) {
}
