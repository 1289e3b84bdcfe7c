package io.prom2pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.prom2pg.proto.RemoteWriteV1.Label;
import io.prom2pg.proto.RemoteWriteV1.Sample;
import io.prom2pg.proto.RemoteWriteV1.TimeSeries;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Real request bodies captured from Prometheus 2.42 land as exactly the rows they contain. */
class RemoteWriteFixturesTest {

    static final String[] SAMPLE_FIXTURES = {"rw_001.snappy.pb", "rw_002.snappy.pb", "rw_003.snappy.pb"};
    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("fixtures", Map.of());
    static final String jdbcUrl = prom2pg.jdbcUrl();

    @Test
    void should_store_prometheus_2_42_bodies_as_the_exact_rows_they_contain() throws Exception {
        Set<String> expected = new HashSet<>();
        for (String fixture : SAMPLE_FIXTURES) {
            HttpResponse<String> response = RemoteWrite.postBody(prom2pg.writeUri(), RemoteWrite.fixture(fixture),
                    "application/x-protobuf");
            assertEquals(204, response.statusCode(), response.body());
            expected.addAll(rowsOf(RemoteWrite.decodeFixture(fixture)));
        }
        // sending them all again (Prometheus retries) adds nothing
        for (String fixture : SAMPLE_FIXTURES) {
            assertEquals(204, RemoteWrite.postBody(prom2pg.writeUri(), RemoteWrite.fixture(fixture),
                    "application/x-protobuf").statusCode());
        }
        List<String> stored = storedRows();
        assertEquals(expected.size(), stored.size(), "row count");
        assertEquals(expected, new HashSet<>(stored));
    }

    @Test
    void should_store_the_metadata_of_a_metadata_only_request() throws Exception {
        WriteRequest request = RemoteWrite.decodeFixture("rw_metadata_448.snappy.pb");
        assertEquals(0, request.getTimeseriesCount());
        HttpResponse<String> response = RemoteWrite.postBody(prom2pg.writeUri(),
                RemoteWrite.fixture("rw_metadata_448.snappy.pb"), "application/x-protobuf");
        assertEquals(204, response.statusCode(), response.body());

        Map<String, String> expected = RemoteWrite.metadataOf(request);
        Map<String, String> stored = TestDatabase.storedMetadata(jdbcUrl, prom2pg.schema);
        assertEquals(expected, stored);
    }

    /** One string per sample: name, labels (sorted, no __name__, no empty values), time, value bits. */
    static List<String> rowsOf(WriteRequest request) {
        List<String> rows = new ArrayList<>();
        for (TimeSeries ts : request.getTimeseriesList()) {
            String name = null;
            TreeMap<String, String> labels = new TreeMap<>();
            for (Label l : ts.getLabelsList()) {
                if (l.getName().equals("__name__")) {
                    name = l.getValue();
                } else if (!l.getValue().isEmpty()) {
                    labels.put(l.getName(), l.getValue());
                }
            }
            StringBuilder ls = new StringBuilder();
            labels.forEach((k, v) -> ls.append(ls.length() == 0 ? "" : ",").append(k).append('=').append(v));
            for (Sample s : ts.getSamplesList()) {
                rows.add(name + "|" + ls + "|" + s.getTimestamp() + "|"
                        + Long.toHexString(Double.doubleToRawLongBits(s.getValue())));
            }
        }
        return rows;
    }

    private List<String> storedRows() throws Exception {
        String sql = "SELECT se.metric_name,"
                + " coalesce((SELECT string_agg(key || '=' || value, ',' ORDER BY key COLLATE \"C\") FROM jsonb_each_text(se.labels)), ''),"
                + " (extract(epoch FROM s.time) * 1000)::int8, float8send(s.value)"
                + " FROM " + prom2pg.schema + ".samples s JOIN " + prom2pg.schema + ".series se ON se.id = s.series_id";
        List<String> rows = new ArrayList<>();
        try (Connection c = TestDatabase.connect(jdbcUrl); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                long bits = ByteBuffer.wrap(rs.getBytes(4)).getLong();
                rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getLong(3) + "|" + Long.toHexString(bits));
            }
        }
        return rows;
    }
}
