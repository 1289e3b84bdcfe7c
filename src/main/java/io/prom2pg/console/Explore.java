package io.prom2pg.console;

import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.proto.RemoteRead.ReadResponse;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.read.Selector;
import org.apache.camel.Header;

/**
 * The console's explore page asks what a remote read asks: a series selector and a time range
 * become a {@link ReadRequest} for the remote reader (same matchers, same
 * {@code prom2pg.read.max-samples} bound), whose answer becomes points for a line chart.
 */
public class Explore {

    /** One series: its labels ({@code __name__} included) and [ms, value] points; null stands for NaN or ±Inf. */
    public record Series(Map<String, String> labels, List<Object[]> points) {
    }

    /** {@code GET /console/api/query}. */
    public record Answer(List<Series> series, long samples, int maxSamples) {
    }

    private int maxSamples = 500_000;

    public void setMaxSamples(int maxSamples) {
        this.maxSamples = maxSamples;
    }

    /** The remote read request for {@code match} over [start, end] (RFC 3339 or Unix seconds; end defaults to now, start to an hour before it). */
    public ReadRequest request(@Header("match") String match, @Header("start") String start, @Header("end") String end) {
        long to = end == null || end.isBlank() ? System.currentTimeMillis() : millis("end", end);
        long from = start == null || start.isBlank() ? to - 3_600_000 : millis("start", start);
        if (from > to) {
            throw new InvalidRequestException("start is after end");
        }
        return ReadRequest.newBuilder()
                .addQueries(Query.newBuilder().addAllMatchers(Selector.parse(match)).setStartTimestampMs(from).setEndTimestampMs(to))
                .addAcceptedResponseTypes(ReadRequest.ResponseType.SAMPLES)
                .build();
    }

    public Answer answer(ReadResponse response) {
        List<Series> series = new ArrayList<>();
        long samples = 0;
        for (TimeSeries ts : response.getResults(0).getTimeseriesList()) {
            Map<String, String> labels = new LinkedHashMap<>();
            for (Label l : ts.getLabelsList()) {
                labels.put(l.getName(), l.getValue());
            }
            List<Object[]> points = new ArrayList<>(ts.getSamplesCount());
            for (Sample s : ts.getSamplesList()) {
                double v = s.getValue();
                points.add(new Object[] {s.getTimestamp(), Double.isFinite(v) ? v : null});
            }
            samples += points.size();
            series.add(new Series(labels, points));
        }
        return new Answer(series, samples, maxSamples);
    }

    private static long millis(String name, String value) {
        try {
            if (value.matches("-?[0-9]+(\\.[0-9]+)?")) {
                return (long) (Double.parseDouble(value) * 1000);
            }
            return OffsetDateTime.parse(value).toInstant().toEpochMilli();
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new InvalidRequestException(name + " must be RFC 3339 or Unix seconds, not '"
                    + value.replaceAll("[^\\x20-\\x7e]", "?") + "'");
        }
    }
}
