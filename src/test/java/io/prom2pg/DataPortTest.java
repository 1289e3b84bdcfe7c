package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.prom2pg.decode.SnappyDataFormat;
import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data port's TLS, timeouts and connection limit. */
class DataPortTest {

    static final byte[] BODY = SnappyDataFormat.compress(WriteRequest.newBuilder()
            .addTimeseries(series("__name__", "test_data_port").addSamples(sample(1_795_493_700_000L, 1))).build().toByteArray());

    @TempDir
    Path dir;

    @Test
    void should_serve_tls_from_pem_files_and_pick_up_a_renewed_certificate_without_restart() throws Exception {
        Path first = selfSigned("first");
        Path second = selfSigned("second");
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        install(first, cert, key);
        Map<String, String> tls = Map.of("prom2pg.tls.enabled", "true",
                "prom2pg.tls.cert-file", cert.toString(), "prom2pg.tls.key-file", key.toString());
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("tls"), tls)
                .awaitReady(Duration.ofSeconds(30))) {
            URI https = URI.create("https://localhost:" + prom2pg.httpPort + "/api/v1/write");
            HttpResponse<String> answer = post(client(trusting(first, second), null), https);
            assertEquals(204, answer.statusCode(), answer.body());
            assertArrayEquals(certificate(first).getEncoded(), answer.sslSession().orElseThrow().getPeerCertificates()[0].getEncoded());

            assertThrows(IOException.class, () -> post(HttpClient.newHttpClient(), prom2pg.writeUri()),
                    "plain HTTP is not answered on a TLS port");

            install(second, cert, key); // the Secret is rotated
            Thread.sleep(1_100);
            HttpResponse<String> renewed = post(client(trusting(first, second), null), https);
            assertEquals(204, renewed.statusCode());
            assertArrayEquals(certificate(second).getEncoded(), renewed.sslSession().orElseThrow().getPeerCertificates()[0].getEncoded());

            Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nbroken\n"); // half written: the last good pair stays
            Thread.sleep(1_100);
            assertEquals(204, post(client(trusting(first, second), null), https).statusCode());
            Files.copy(first.resolve("key.pem"), key, StandardCopyOption.REPLACE_EXISTING); // the old key with the new certificate
            Thread.sleep(1_100);
            HttpResponse<String> mismatched = post(client(trusting(first, second), null), https);
            assertEquals(204, mismatched.statusCode(), "a key that does not match the certificate is refused too");
            assertArrayEquals(certificate(second).getEncoded(), mismatched.sslSession().orElseThrow().getPeerCertificates()[0].getEncoded());
            assertEquals(1, TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(),
                    "SELECT count(*) FROM " + prom2pg.schema + ".samples"), "the same sample four times is stored once");
        }
    }

    @Test
    void should_read_pkcs1_rsa_and_sec1_ec_keys_as_openshift_and_cert_manager_issue_them() throws Exception {
        for (String[] keyCommand : new String[][] {
            {"openssl", "genrsa", "-traditional", "-out", "KEY", "2048"},
            {"openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "KEY"}}) {
            Path pair = Files.createDirectories(dir.resolve(keyCommand[1]));
            Path key = pair.resolve("key.pem");
            run(String.join(" ", keyCommand).replace("KEY", key.toString()).split(" "));
            assertTrue(Files.readString(key).contains("-----BEGIN " + (keyCommand[1].equals("genrsa") ? "RSA" : "EC") + " PRIVATE KEY-----"));
            run("openssl", "req", "-x509", "-key", key.toString(), "-out", pair.resolve("cert.pem").toString(), "-days", "2",
                    "-subj", "/CN=" + keyCommand[1], "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
            Map<String, String> tls = Map.of("prom2pg.tls.enabled", "true",
                    "prom2pg.tls.cert-file", pair.resolve("cert.pem").toString(), "prom2pg.tls.key-file", key.toString());
            try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("pem"), tls)
                    .awaitReady(Duration.ofSeconds(30))) {
                URI https = URI.create("https://localhost:" + prom2pg.httpPort + "/api/v1/write");
                assertEquals(204, post(client(trusting(pair), null), https).statusCode(), keyCommand[1]);
            }
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + output);
    }

    @Test
    void should_require_a_client_certificate_signed_by_the_configured_ca() throws Exception {
        Path server = selfSigned("server");
        Path client = selfSigned("client");
        Map<String, String> tls = Map.of("prom2pg.tls.enabled", "true",
                "prom2pg.tls.cert-file", server.resolve("cert.pem").toString(),
                "prom2pg.tls.key-file", server.resolve("key.pem").toString(),
                "prom2pg.tls.client-ca-file", client.resolve("cert.pem").toString(), "prom2pg.tls.client-auth", "true");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("mtls"), tls)
                .awaitReady(Duration.ofSeconds(30))) {
            URI https = URI.create("https://localhost:" + prom2pg.httpPort + "/api/v1/write");
            assertThrows(IOException.class, () -> post(client(trusting(server), null), https), "no client certificate");
            assertEquals(204, post(client(trusting(server), client), https).statusCode());
        }
    }

    @Test
    void should_refuse_to_start_when_tls_is_on_and_the_key_cannot_be_read() throws Exception {
        Path cert = selfSigned("only-cert").resolve("cert.pem");
        Map<String, String> tls = Map.of("prom2pg.tls.enabled", "true",
                "prom2pg.tls.cert-file", cert.toString(), "prom2pg.tls.key-file", dir.resolve("missing.key").toString());
        Exception refused = assertThrows(Exception.class,
                () -> RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("tlsbad"), tls).close());
        assertTrue(stackText(refused).contains("missing.key"), stackText(refused));
    }

    @Test
    void should_answer_408_to_a_request_whose_body_stalls_and_close_idle_and_surplus_connections() throws Exception {
        Map<String, String> limits = Map.of("prom2pg.http.read-timeout-ms", "500", "prom2pg.http.idle-timeout-ms", "1000",
                "prom2pg.http.max-connections", "3");
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(), TestDatabase.newSchema("slow"), limits)
                .awaitReady(Duration.ofSeconds(30))) {
            // headers promise 100 bytes, 10 arrive, then nothing
            try (Socket slow = new Socket("127.0.0.1", prom2pg.httpPort)) {
                slow.setSoTimeout(5_000);
                OutputStream out = slow.getOutputStream();
                out.write(("POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                        + "Content-Encoding: snappy\r\nContent-Length: 100\r\n\r\n0123456789").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                long started = System.nanoTime();
                String answer = readAll(slow.getInputStream());
                assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
                assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(4));
            }
            // a connection that never sends a request is closed after the idle timeout
            try (Socket idle = new Socket("127.0.0.1", prom2pg.httpPort)) {
                idle.setSoTimeout(5_000);
                assertEquals(-1, idle.getInputStream().read(), "closed by prom2pg");
            }
            // three connections are open; a fourth is closed at once, the three still work
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(new Socket("127.0.0.1", prom2pg.httpPort));
                }
                Thread.sleep(200);
                try (Socket surplus = new Socket("127.0.0.1", prom2pg.httpPort)) {
                    surplus.setSoTimeout(5_000);
                    assertEquals(-1, surplus.getInputStream().read(), "closed at once");
                }
                Socket first = held.get(0);
                first.setSoTimeout(5_000);
                OutputStream out = first.getOutputStream();
                out.write(("POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                        + "Content-Encoding: snappy\r\nContent-Length: " + BODY.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(BODY);
                out.flush();
                byte[] status = first.getInputStream().readNBytes(12);
                assertEquals("HTTP/1.1 204", new String(status, StandardCharsets.US_ASCII));
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            Thread.sleep(300);
            assertTrue(prom2pg.metric("prom2pg_http_timeouts_total{phase=\"read\"}") >= 1);
            assertTrue(prom2pg.metric("prom2pg_http_timeouts_total{phase=\"idle\"}") >= 1);
            assertTrue(prom2pg.metric("prom2pg_http_connections_refused_total") >= 1);
            assertFalse(prom2pg.metric("prom2pg_http_connections") > 3);
        }
    }

    private static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }

    private static String stackText(Throwable t) {
        StringBuilder text = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            text.append(c).append('\n');
        }
        return text.toString();
    }

    private static HttpResponse<String> post(HttpClient client, URI uri) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/x-protobuf").header("Content-Encoding", "snappy")
                .POST(HttpRequest.BodyPublishers.ofByteArray(BODY)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A self-signed EC certificate for localhost and its PKCS#8 key, made by openssl. */
    private Path selfSigned(String name) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", d.resolve("key.pem").toString(), "-out", d.resolve("cert.pem").toString(), "-days", "2",
                "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
                .redirectErrorStream(true).start();
        String output = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, openssl.waitFor(), output);
        return d;
    }

    private static void install(Path pair, Path cert, Path key) throws IOException {
        Files.copy(pair.resolve("cert.pem"), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(pair.resolve("key.pem"), key, StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(cert, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
    }

    private static Certificate certificate(Path pair) throws Exception {
        try (InputStream in = Files.newInputStream(pair.resolve("cert.pem"))) {
            return CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static KeyStore trusting(Path... pairs) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (Path pair : pairs) {
            trust.setCertificateEntry(pair.getFileName().toString(), certificate(pair));
        }
        return trust;
    }

    /** An HTTP client trusting the given certificates, presenting the given pair's certificate when not null. */
    private static HttpClient client(KeyStore trust, Path clientPair) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (clientPair != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            Process p = new ProcessBuilder("openssl", "pkcs12", "-export", "-passout", "pass:changeit",
                    "-inkey", clientPair.resolve("key.pem").toString(), "-in", clientPair.resolve("cert.pem").toString(),
                    "-out", clientPair.resolve("client.p12").toString()).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), output);
            try (InputStream in = Files.newInputStream(clientPair.resolve("client.p12"))) {
                keys.load(in, "changeit".toCharArray());
            }
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, "changeit".toCharArray());
        }
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
    }
}
