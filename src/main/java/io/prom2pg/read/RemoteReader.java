package io.prom2pg.read;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.proto.RemoteRead.Query;
import io.prom2pg.proto.RemoteRead.QueryResult;
import io.prom2pg.proto.RemoteRead.ReadRequest;
import io.prom2pg.proto.RemoteRead.ReadResponse;
import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.store.Schema;
import io.prom2pg.store.Sql;
import io.prom2pg.store.StoredSamples;

/**
 * Answers a remote read request from PostgreSQL: for each query, the series its matchers select
 * and their samples in the query's time range (both ends included), values bit for bit. A
 * request whose answer would hold more than {@code maxSamples} samples is refused.
 */
public class RemoteReader {

    private static final JsonFactory JSON = new JsonFactory();
    private static final String INVALID_REGEX = "2201B";

    private DataSource dataSource;
    private String schema = "prom2pg";
    private int maxSamples = 500_000;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setMaxSamples(int maxSamples) {
        this.maxSamples = maxSamples;
    }

    public ReadResponse read(ReadRequest request) {
        try (Connection c = dataSource.getConnection()) {
            return read(c, request, Integer.MAX_VALUE - 1);
        } catch (SQLException e) {
            throw new StorageUnavailableException("remote read failed: " + Sql.oneLine(e), e);
        }
    }

    /**
     * The same read on a connection the caller holds (the console's, bounded by its statement
     * timeout), matching at most {@code maxSeries} series per query.
     */
    public ReadResponse read(Connection c, ReadRequest request, int maxSeries) {
        if (!request.getAcceptedResponseTypesList().isEmpty()
                && !request.getAcceptedResponseTypesList().contains(ReadRequest.ResponseType.SAMPLES)) {
            throw new InvalidRequestException("only the SAMPLES response type is supported; accept it in the request");
        }
        ReadResponse.Builder response = ReadResponse.newBuilder();
        int[] budget = {maxSamples};
        try {
            for (Query query : request.getQueriesList()) {
                response.addResults(query(c, query, budget, maxSeries));
            }
        } catch (SQLException e) {
            if (INVALID_REGEX.equals(e.getSQLState())) {
                throw new InvalidRequestException("invalid regular expression in a matcher: " + Sql.oneLine(e));
            }
            throw new StorageUnavailableException("remote read failed: " + Sql.oneLine(e), e);
        }
        return response.build();
    }

    private QueryResult query(Connection c, Query query, int[] budget, int maxSeries) throws SQLException {
        SeriesMatch match = SeriesMatch.of(query.getMatchersList());
        Map<Long, TimeSeries.Builder> series = new LinkedHashMap<>();
        try (PreparedStatement ps = match.select(schema).prepare(c, maxSeries + 1); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                if (series.size() == maxSeries) {
                    throw new ReadLimitException("the selector matches more than " + maxSeries
                            + " series (prom2pg.console.explore-max-series): narrow its matchers");
                }
                series.put(rs.getLong(1), TimeSeries.newBuilder().addAllLabels(labels(rs.getString(2), rs.getString(3))));
            }
        }
        QueryResult.Builder result = QueryResult.newBuilder();
        if (series.isEmpty()) {
            return result.build();
        }
        // both tiers, the sealed blocks decoded here (the end is inclusive)
        long[] ids = series.keySet().stream().mapToLong(Long::longValue).toArray();
        Map<Long, StoredSamples.Series> samples = StoredSamples.read(c, schema, ids, query.getStartTimestampMs(),
                query.getEndTimestampMs(), budget[0]);
        if (samples == null) {
            throw new ReadLimitException("the answer would hold more than " + maxSamples
                    + " samples (prom2pg.read.max-samples): narrow the query's time range or matchers");
        }
        samples.forEach((id, s) -> {
            TimeSeries.Builder ts = series.get(id);
            for (int i = 0; i < s.count(); i++) {
                ts.addSamples(Sample.newBuilder().setTimestamp(s.time(i)).setValue(s.value(i)));
            }
            budget[0] -= s.count();
        });
        for (TimeSeries.Builder ts : series.values()) {
            if (ts.getSamplesCount() > 0) {
                result.addTimeseries(ts);
            }
        }
        return result.build();
    }

    /** The series' labels, {@code __name__} included, sorted by name as Prometheus expects. */
    private static List<Label> labels(String metricName, String json) {
        TreeMap<String, String> sorted = new TreeMap<>();
        sorted.put("__name__", metricName);
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    sorted.put(name, p.getText());
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("labels of series " + metricName + " are not a JSON object", e);
        }
        List<Label> labels = new ArrayList<>(sorted.size());
        sorted.forEach((n, v) -> labels.add(Label.newBuilder().setName(n).setValue(v).build()));
        return labels;
    }
}
