package io.prom2pg.reports;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.failure.NotFoundException;
import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers {@code GET /api/v1/reports/{view}?start=...&end=...&format=csv|json}: the rows of a
 * metering view or rollup, or of a view declared in YAML, for a period, streamed as they are
 * read (a cursor; a year of hourly rows is never held in memory). A report is a view with an
 * {@code hour} or {@code time} column.
 */
public class Reports {

    private static final Logger LOG = LoggerFactory.getLogger(Reports.class);
    private static final JsonFactory JSON = new JsonFactory();
    private static final java.time.format.DateTimeFormatter RFC_3339 =
            java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssXXX");
    private static final java.time.format.DateTimeFormatter RFC_3339_MICROS =
            java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX");

    private DataSource dataSource;
    private String schema = "prom2pg";
    private String viewsSchema = "prom2pg_views";
    private final ExecutorService writers = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "prom2pg-report");
        t.setDaemon(true);
        return t;
    });

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setViewsSchema(String viewsSchema) {
        this.viewsSchema = Schema.checkName(viewsSchema);
    }

    /** Checks the request, then starts streaming the rows; the returned stream is the response body. */
    public InputStream open(@Header(Exchange.HTTP_PATH) String path, @Header("start") String start, @Header("end") String end,
                            @Header("format") String format, Exchange exchange) throws IOException {
        String view = path == null ? "" : path.replaceAll("^/+|/+$", "");
        String fmt = format == null || format.isBlank() ? "csv" : format.toLowerCase();
        if (!fmt.equals("csv") && !fmt.equals("json")) {
            throw new InvalidRequestException("format must be csv or json, not '" + fmt + "'");
        }
        OffsetDateTime from = time("start", start);
        OffsetDateTime to = time("end", end);
        if (!from.isBefore(to)) {
            throw new InvalidRequestException("the period is empty: start " + from + " is not before end " + to);
        }
        Source source = resolve(view);
        exchange.getMessage().setHeader("Content-Type", fmt.equals("csv") ? "text/csv; charset=utf-8" : "application/json");
        PipedInputStream in = new PipedInputStream(64 * 1024);
        PipedOutputStream out = new PipedOutputStream(in);
        writers.execute(() -> write(source, from, to, fmt, out));
        return in;
    }

    private record Source(String table, String column) {
    }

    /** The report's table and its time column: metering views and rollups, or a view declared in YAML. */
    private Source resolve(String view) {
        if (!view.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new NotFoundException("no report '" + view.replaceAll("[^\\x20-\\x7e]", "?") + "'");
        }
        String sql = "SELECT table_schema, column_name FROM information_schema.columns"
                + " WHERE ((table_schema = ? AND table_name LIKE 'metering\\_%') OR table_schema = ?)"
                + " AND table_name = ? AND column_name IN ('hour', 'time') ORDER BY column_name LIMIT 1";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, schema);
            ps.setString(2, viewsSchema);
            ps.setString(3, view);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new NotFoundException("no report '" + view + "': reports are the metering views and rollups"
                            + " and the views of the views file, with an hour or time column");
                }
                return new Source(rs.getString(1) + "." + view, rs.getString(2));
            }
        } catch (SQLException e) {
            throw new StorageUnavailableException("looking up report " + view + " failed: " + Sql.oneLine(e), e);
        }
    }

    private void write(Source source, OffsetDateTime from, OffsetDateTime to, String format, PipedOutputStream out) {
        String sql = "SELECT * FROM " + source.table() + " WHERE " + source.column() + " >= ? AND " + source.column()
                + " < ? ORDER BY " + source.column();
        try (out; Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
             Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false); // a cursor: rows are fetched 1000 at a time
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setFetchSize(1000);
                ps.setObject(1, from);
                ps.setObject(2, to);
                try (ResultSet rs = ps.executeQuery()) {
                    if (format.equals("csv")) {
                        csv(rs, w);
                    } else {
                        json(rs, w);
                    }
                }
            } finally {
                c.rollback();
            }
        } catch (SQLException | IOException e) {
            // the status line is already sent: the answer ends early, and the log says why
            LOG.warn("Report {} ended early: {}", source.table(), e instanceof SQLException s ? Sql.oneLine(s) : e.getMessage());
        }
    }

    private static void csv(ResultSet rs, Writer w) throws SQLException, IOException {
        ResultSetMetaData md = rs.getMetaData();
        String[] header = new String[md.getColumnCount()];
        for (int i = 0; i < header.length; i++) {
            header[i] = md.getColumnLabel(i + 1);
        }
        try (CSVPrinter csv = new CSVPrinter(w, CSVFormat.DEFAULT.builder().setHeader(header).get())) {
            while (rs.next()) {
                for (int i = 1; i <= header.length; i++) {
                    csv.print(value(rs, i));
                }
                csv.println();
            }
        }
    }

    private static void json(ResultSet rs, Writer w) throws SQLException, IOException {
        ResultSetMetaData md = rs.getMetaData();
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartArray();
            while (rs.next()) {
                g.writeStartObject();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    Object v = value(rs, i);
                    g.writeFieldName(md.getColumnLabel(i));
                    if (v == null) {
                        g.writeNull();
                    } else if (v instanceof Number n) {
                        g.writeNumber(n.toString());
                    } else {
                        g.writeString(v.toString());
                    }
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        }
    }

    private static Object value(ResultSet rs, int i) throws SQLException {
        Object v = rs.getObject(i);
        if (v instanceof java.sql.Timestamp) {
            OffsetDateTime t = rs.getObject(i, OffsetDateTime.class).withOffsetSameInstant(ZoneOffset.UTC);
            return (t.getNano() == 0 ? RFC_3339 : RFC_3339_MICROS).format(t);
        }
        if (v instanceof Double d && (d.isNaN() || d.isInfinite())) {
            return d.toString();
        }
        return v;
    }

    /** RFC 3339 or seconds since the epoch. */
    static OffsetDateTime time(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidRequestException("missing " + name + ": give RFC 3339 (2026-01-01T00:00:00Z) or epoch seconds");
        }
        try {
            if (value.matches("-?\\d+(\\.\\d+)?")) {
                double seconds = Double.parseDouble(value);
                return OffsetDateTime.ofInstant(Instant.ofEpochMilli((long) (seconds * 1000)), ZoneOffset.UTC);
            }
            return OffsetDateTime.parse(value);
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new InvalidRequestException(name + " '" + value.replaceAll("[^\\x20-\\x7e]", "?")
                    + "' is neither RFC 3339 nor epoch seconds");
        }
    }
}
