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
import io.prom2pg.read.RemoteReader;
import io.prom2pg.read.Selector;
import org.apache.camel.Header;

/**
 * The console's explore page asks what a remote read asks: a series selector and a time range
 * become a {@link ReadRequest} for the remote reader (same matchers, same
 * {@code prom2pg.read.max-samples} bound), read on a console connection (its statement timeout)
 * and at most {@code prom2pg.console.explore-max-series} series; the answer becomes points for a
 * line chart.
 */
public class Explore {

    /** One series: its labels ({@code __name__} included) and [ms, value] points; null stands for NaN or ±Inf. */
    public record Series(Map<String, String> labels, List<Object[]> points) {
    }

    /** {@code GET /console/api/query}. */
    public record Answer(List<Series> series, long samples, int maxSamples) {
    }

    /** Times outside years 0000-9999 are refused (RFC 3339's range; past it a bound would overflow). */
    private static final long MIN_MILLIS = -62_167_219_200_000L;
    private static final long MAX_MILLIS = 253_402_300_799_999L;

    private int maxSamples = 500_000;
    private int maxSeries = 1000;
    private RemoteReader remoteReader;
    private ConsoleDb consoleDb;

    public void setMaxSamples(int maxSamples) {
        this.maxSamples = maxSamples;
    }

    public void setMaxSeries(int maxSeries) {
        this.maxSeries = maxSeries;
    }

    public void setRemoteReader(RemoteReader remoteReader) {
        this.remoteReader = remoteReader;
    }

    public void setConsoleDb(ConsoleDb consoleDb) {
        this.consoleDb = consoleDb;
    }

    /** The remote read, on a console connection: bounded in time, series and samples. */
    public ReadResponse read(ReadRequest request) {
        return consoleDb.read("exploring", (c, schema) -> remoteReader.read(c, request, maxSeries));
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
            double ms = value.matches("-?[0-9]+(\\.[0-9]+)?") ? Double.parseDouble(value) * 1000
                    : OffsetDateTime.parse(value).toInstant().toEpochMilli();
            if (ms < MIN_MILLIS || ms > MAX_MILLIS) {
                throw new InvalidRequestException(name + " is outside the years 0000-9999");
            }
            return (long) ms;
        } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
            throw new InvalidRequestException(name + " must be RFC 3339 or Unix seconds, not '"
                    + value.replaceAll("[^\\x20-\\x7e]", "?") + "'");
        }
    }
}
