package io.prom2pg.series;

import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.decode.Labels;
import io.prom2pg.failure.InvalidRequestException;

/**
 * Bounds on what one request and one series may carry: series per request, labels per series,
 * and the length of label names and values (in characters). A request over them is refused with
 * 400 and the reason. Series are checked when they are first seen (cache hits were checked then).
 */
public class LabelLimits {

    private int maxSeriesPerRequest = 100_000;
    private int maxLabelsPerSeries = 64;
    private int maxNameLength = 1024;
    private int maxValueLength = 4096;

    public void setMaxSeriesPerRequest(int maxSeriesPerRequest) {
        this.maxSeriesPerRequest = maxSeriesPerRequest;
    }

    public void setMaxLabelsPerSeries(int maxLabelsPerSeries) {
        this.maxLabelsPerSeries = maxLabelsPerSeries;
    }

    public void setMaxNameLength(int maxNameLength) {
        this.maxNameLength = maxNameLength;
    }

    public void setMaxValueLength(int maxValueLength) {
        this.maxValueLength = maxValueLength;
    }

    public void checkRequest(DecodedWrite write) {
        if (write.seriesCount() > maxSeriesPerRequest) {
            throw new InvalidRequestException("request has " + write.seriesCount()
                    + " series, more than prom2pg.limits.series-per-request (" + maxSeriesPerRequest + ")");
        }
    }

    public void checkSeries(Labels labels) {
        String[] names = labels.names();
        String[] values = labels.values();
        if (names.length > maxLabelsPerSeries) {
            throw new InvalidRequestException("series with " + names.length + " labels, more than prom2pg.limits.labels-per-series ("
                    + maxLabelsPerSeries + ")");
        }
        for (int i = 0; i < names.length; i++) {
            if (names[i].length() > maxNameLength) {
                throw new InvalidRequestException("label name of " + names[i].length()
                        + " characters, longer than prom2pg.limits.label-name-length (" + maxNameLength + ")");
            }
            if (values[i].length() > maxValueLength) {
                throw new InvalidRequestException("value of label '" + (names[i].length() > 100 ? names[i].substring(0, 100) : names[i])
                        + "' has " + values[i].length() + " characters, longer than prom2pg.limits.label-value-length ("
                        + maxValueLength + ")");
            }
        }
    }
}
