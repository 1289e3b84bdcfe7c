package io.prom2pg.decode;

/** An exemplar of a series: its own labels (a trace id, say), value and time. */
public record Exemplar(int series, long timestamp, double value, String[] names, String[] values) {

    Exemplar withSeries(int s) {
        return new Exemplar(s, timestamp, value, names, values);
    }
}
