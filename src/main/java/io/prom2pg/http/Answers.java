package io.prom2pg.http;

import java.util.List;
import java.util.Set;
import java.util.function.Function;

import io.prom2pg.decode.DecodedWrite;
import io.prom2pg.decode.RemoteWriteFormat;
import io.prom2pg.failure.FollowerAheadException;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.failure.OverloadedException;
import io.prom2pg.failure.PayloadTooLargeException;
import io.prom2pg.failure.NotFoundException;
import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.failure.UnauthorizedException;
import io.prom2pg.failure.UnsupportedMediaTypeException;
import io.prom2pg.observe.IngestMetrics;
import io.prom2pg.store.WriteBatch;
import io.prom2pg.store.WriteResult;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * How prom2pg's HTTP endpoints answer, for the app's routes ({@code routes/http-errors.yaml}) and
 * the source Kamelet alike: {@link #TABLE}, one row per failure class, gives the status code, the
 * one-line reason as the body, the log line and the metric; {@link #written} gives the 204 of a
 * stored remote write request. A remote write 2.0 request's 2xx and 4xx answers say what was
 * written (0 when refused). {@link #complete} sends only prom2pg's own headers back. Prometheus
 * drops what is answered 4xx and retries what is answered 5xx.
 */
public class Answers {

    private static final Logger LOG = LoggerFactory.getLogger("io.prom2pg.http");

    static final String SAMPLES_WRITTEN = "X-Prometheus-Remote-Write-Samples-Written";
    static final String HISTOGRAMS_WRITTEN = "X-Prometheus-Remote-Write-Histograms-Written";
    static final String EXEMPLARS_WRITTEN = "X-Prometheus-Remote-Write-Exemplars-Written";
    /** The headers an answer keeps; the request's own never go back. */
    private static final Set<String> OWN_HEADERS = Set.of(Exchange.HTTP_RESPONSE_CODE, "Retry-After", "WWW-Authenticate",
            "Content-Type", "Content-Encoding", "X-Prometheus-Remote-Read-Version", SAMPLES_WRITTEN, HISTOGRAMS_WRITTEN,
            EXEMPLARS_WRITTEN, "Location", "Cache-Control", "Content-Security-Policy", "X-Content-Type-Options");

    /**
     * How one class of failure is answered: status (0: the overload status setting), log level,
     * log line and body from the reason, what is counted, and Retry-After.
     */
    record Failure(List<Class<? extends Throwable>> classes, int status, Level log, Function<String, String> logged,
                   Function<String, String> body, Count count, String reason, Retry retry) {
    }

    /** What a refusal counts: nothing, the request ({@code prom2pg_requests_rejected_total}), or its samples. */
    enum Count { NONE, REQUEST, SAMPLES }

    /** Retry-After: none, the setting ({@code prom2pg.limits.retry-after-seconds}), or one second. */
    enum Retry { NONE, SETTING, ONE_SECOND }

    private static Failure client(Class<? extends Throwable> failure, int status, Level log) {
        return new Failure(List.of(failure), status, log, r -> r, r -> r, Count.NONE, null, Retry.NONE);
    }

    /**
     * Failure to answer; the first row that matches the failure or one of its causes wins. A 4xx
     * reason is the failure's message; a 5xx reason is {@link ErrorReasons}' line, and its body
     * "{@code <status> <route>: <body>}", which is what Prometheus logs.
     */
    static final List<Failure> TABLE = List.of(
            client(UnauthorizedException.class, 401, Level.WARN),
            client(NotFoundException.class, 404, Level.INFO),
            client(UnsupportedMediaTypeException.class, 415, Level.WARN),
            client(PayloadTooLargeException.class, 413, Level.WARN),
            client(InvalidRequestException.class, 400, Level.WARN),
            new Failure(List.of(OverloadedException.class), 0, Level.WARN, r -> r, r -> r + ", retry later",
                    Count.REQUEST, "overloaded", Retry.SETTING),
            new Failure(List.of(FollowerAheadException.class), 503, Level.DEBUG, r -> r, r -> r + "; retry later",
                    Count.REQUEST, "ha_follower_ahead", Retry.ONE_SECOND),
            new Failure(List.of(StorageUnavailableException.class, java.sql.SQLException.class,
                    org.springframework.dao.DataAccessException.class), 503, Level.WARN,
                    r -> "storage unavailable: " + r, r -> "storage unavailable, retry later: " + r,
                    Count.SAMPLES, IngestMetrics.REASON_STORAGE_UNAVAILABLE, Retry.SETTING),
            new Failure(List.of(Throwable.class), 500, Level.ERROR, r -> r, r -> "internal error: " + r,
                    Count.NONE, null, Retry.NONE));

    private final ErrorReasons reasons = new ErrorReasons();
    private IngestMetrics metrics = new IngestMetrics();
    private int overloadStatus = 503;
    private int retryAfterSeconds = 5;

    public void setMetrics(IngestMetrics metrics) {
        this.metrics = metrics;
    }

    /** The status of an overloaded answer (503, or 429 for senders that back off on it). */
    public void setOverloadStatus(int overloadStatus) {
        this.overloadStatus = overloadStatus;
    }

    public void setRetryAfterSeconds(int retryAfterSeconds) {
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** A remote write request stored (or stood for by its HA leader's copy): 204, with what was taken. */
    public void written(WriteResult result, Exchange exchange) {
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 204);
        m.setBody(null);
        counts(m, result);
    }

    /** Remote write 2.0: what was written, in the answer's headers. */
    private static void counts(Message m, WriteResult result) {
        if (RemoteWriteFormat.isRemoteWrite2(m.getHeader("Content-Type", String.class))) {
            m.setHeader(SAMPLES_WRITTEN, result.samples());
            m.setHeader(HISTOGRAMS_WRITTEN, result.histograms());
            m.setHeader(EXEMPLARS_WRITTEN, result.exemplars());
        }
    }

    /** The answer to the failure the exchange caught: status, headers, the reason as the body, a log line, a count. */
    public void failed(Exchange exchange) {
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (caught == null) {
            caught = exchange.getException();
        }
        Failure failure = match(caught);
        int status = failure.status() == 0 ? overloadStatus : failure.status();
        String route = exchange.getFromRouteId();
        String reason = status >= 500 ? reasons.reason(caught) : message(caught, failure);
        String logged = status + " " + route + ": " + failure.logged().apply(reason);
        log(failure.log(), failure.log() == Level.ERROR ? logged + " (" + caught + ")" : logged);
        switch (failure.count()) {
            case REQUEST -> metrics.requestRejected(failure.reason());
            case SAMPLES -> metrics.rejected(failure.reason(), samples(exchange));
            default -> { }
        }
        String body = failure.body().apply(reason);
        Message m = exchange.getMessage();
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        switch (failure.retry()) {
            case SETTING -> m.setHeader("Retry-After", String.valueOf(retryAfterSeconds));
            case ONE_SECOND -> m.setHeader("Retry-After", "1");
            default -> { }
        }
        if (status == 401) {
            m.setHeader("WWW-Authenticate", "Basic realm=\"prom2pg\", Bearer realm=\"prom2pg\"");
        }
        m.setBody((status >= 500 ? status + " " + route + ": " + body : body) + "\n");
        if (status < 500) {
            counts(m, WriteResult.NONE);
        }
    }

    /**
     * Before the answer leaves: only prom2pg's own headers (the request's never go back), text
     * bodies marked as such, and the request timed in {@code prom2pg_request_duration_seconds}.
     */
    public void complete(Exchange exchange) {
        Message m = exchange.getMessage();
        m.getHeaders().keySet().removeIf(h -> OWN_HEADERS.stream().noneMatch(h::equalsIgnoreCase));
        Integer status = m.getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        if (status != null && status == 204) {
            m.getHeaders().keySet().removeIf(h -> h.regionMatches(true, 0, "Content-", 0, 8));
        } else if (status != null && status >= 400) {
            m.removeHeader("Content-Encoding");
            m.setHeader("Content-Type", "text/plain; charset=utf-8");
        }
        metrics.requestCompleted(exchange);
    }

    static Failure match(Throwable caught) {
        for (Failure f : TABLE) {
            if (matching(caught, f) != null) {
                return f;
            }
        }
        return TABLE.get(TABLE.size() - 1);
    }

    /** The failure, or the first of its causes, that the row names; null when none is. */
    private static Throwable matching(Throwable caught, Failure failure) {
        for (Throwable t = caught; t != null; t = t.getCause() == t ? null : t.getCause()) {
            for (Class<? extends Throwable> c : failure.classes()) {
                if (c.isInstance(t)) {
                    return t;
                }
            }
        }
        return null;
    }

    /** A 4xx answer's reason: the message of the failure the row matched. */
    private static String message(Throwable caught, Failure failure) {
        Throwable t = matching(caught, failure);
        return t != null ? String.valueOf(t.getMessage()) : String.valueOf(caught);
    }

    /** The samples of the refused request, when it was decoded far enough to count them. */
    private static Integer samples(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        if (body instanceof DecodedWrite w) {
            return w.sampleCount();
        }
        if (body instanceof WriteBatch b) {
            return b.acknowledged().samples();
        }
        return null;
    }

    private static void log(Level level, String line) {
        switch (level) {
            case ERROR -> LOG.error(line);
            case WARN -> LOG.warn(line);
            case INFO -> LOG.info(line);
            default -> LOG.debug(line);
        }
    }
}
