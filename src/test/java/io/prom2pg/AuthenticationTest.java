package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import at.favre.lib.crypto.bcrypt.BCrypt;
import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** With authentication on, data endpoints need basic or bearer credentials; probes stay open. */
class AuthenticationTest {

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final byte[] BODY = SnappyDataFormat.compress(WriteRequest.newBuilder()
            .addTimeseries(series("__name__", "test_auth").addSamples(sample(1_795_493_700_000L, 1))).build().toByteArray());

    @Test
    void should_refuse_missing_or_wrong_credentials_and_accept_basic_and_rotated_bearer_ones() throws Exception {
        Path users = Files.createTempFile("users", ".txt");
        Files.writeString(users, "prometheus:" + BCrypt.withDefaults().hashToString(10, "s3cret".toCharArray()) + "\n"
                // "ops:~secret~" is b3BzOn5zZWNyZXR+ in base64: a '+' that no decoding may turn into a space
                + "ops:" + BCrypt.withDefaults().hashToString(10, "~secret~".toCharArray()) + "\n");
        Path tokens = Files.createTempFile("tokens", ".txt");
        Files.writeString(tokens, "# tokens\ntoken-one\n");
        Map<String, String> auth = Map.of("prom2pg.auth.enabled", "true", "prom2pg.auth.basic-users-file", users.toString(),
                "prom2pg.auth.bearer-tokens-file", tokens.toString());
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("auth"), auth)
                .awaitReady(Duration.ofSeconds(30))) {
            HttpResponse<String> none = write(prom2pg, null);
            assertEquals(401, none.statusCode());
            assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").contains("Basic realm=\"prom2pg\""));
            assertEquals(401, write(prom2pg, basic("prometheus", "wrong")).statusCode());
            assertEquals(401, write(prom2pg, basic("nobody", "s3cret")).statusCode());
            assertEquals(401, write(prom2pg, "Bearer token-two").statusCode());
            assertEquals(204, write(prom2pg, basic("prometheus", "s3cret")).statusCode());
            assertEquals(204, write(prom2pg, basic("prometheus", "s3cret")).statusCode(), "remembered after bcrypt");
            assertEquals(204, write(prom2pg, "Bearer token-one").statusCode());

            // the token file is rotated (a Secret update): no restart needed
            Files.writeString(tokens, "token-two\n");
            Files.setLastModifiedTime(tokens, FileTime.fromMillis(System.currentTimeMillis() + 2000));
            assertEquals(401, write(prom2pg, "Bearer token-one").statusCode());
            assertEquals(204, write(prom2pg, "Bearer token-two").statusCode());

            assertEquals(401, HTTP.send(HttpRequest.newBuilder(prom2pg.uri("/api/v1/reports/metering_pod_hourly?start=0&end=10"))
                    .GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "reports need credentials too");
            for (String console : new String[] {"/console/", "/console/lib/echarts.min.js", "/console/api/status",
                "/console/api/cardinality", "/console/api/chargeback", "/console/api/query?match=up"}) {
                assertEquals(401, HTTP.send(HttpRequest.newBuilder(prom2pg.uri(console)).GET().build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode(), console + " needs credentials too");
            }
            assertEquals(200, HTTP.send(HttpRequest.newBuilder(prom2pg.uri("/console/api/status")).header("Authorization",
                    basic("prometheus", "s3cret")).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode(),
                    "and opens with them (a browser asks for them on the 401's Basic challenge)");
            assertEquals("Basic b3BzOn5zZWNyZXR+", basic("ops", "~secret~"));
            for (String path : new String[] {"/console/api/cardinality?metric=a%2Bb", "/api/v1/reports/metering_pod_hourly?start=0&end=10"}) {
                assertEquals(200, HTTP.send(HttpRequest.newBuilder(prom2pg.uri(path)).header("Authorization", basic("ops", "~secret~"))
                        .header("Cookie", "theme=50%; other=%zz").GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode(),
                        path + ": a credential with '+' in its base64, and headers that are not percent-encoded, as sent");
            }
            assertEquals(200, prom2pg.management("/observe/health/ready").statusCode(), "probes stay open");
            assertTrue(prom2pg.metric("prom2pg_auth_failures_total{reason=\"bad_password\"}") >= 2);
            String logs = prom2pg.management("/observe/metrics").body();
            assertTrue(!logs.contains("s3cret") && !logs.contains("token-two"), "no secret in the metrics");
        }
    }

    private static HttpResponse<String> write(RunningProm2pg prom2pg, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(prom2pg.writeUri())
                .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "snappy")
                .POST(HttpRequest.BodyPublishers.ofByteArray(BODY));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }
}
