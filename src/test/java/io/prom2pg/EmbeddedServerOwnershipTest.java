package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.Ports;
import io.prom2pg.support.Prom2pgProcess;
import io.prom2pg.support.RemoteWrite;
import org.junit.jupiter.api.Test;

/**
 * The embedded server belongs to the prom2pg that started it: a second prom2pg on the same data
 * directory or port refuses to start (exit code 2) and leaves the first alone; a server left by
 * a prom2pg that is gone is stopped and replaced.
 */
class EmbeddedServerOwnershipTest {

    private static final Duration START = Duration.ofSeconds(90);

    @Test
    void should_refuse_a_second_instance_on_the_same_data_directory_or_port_and_leave_the_first_alone() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-owner");
        int pgPort = Ports.free();
        Map<String, String> env = Map.of("PROM2PG_EMBEDDED_PORT", String.valueOf(pgPort));
        try (Prom2pgProcess first = Prom2pgProcess.start(dir, env).awaitReady(START)) {
            long postmaster = postmasterPid(dir.resolve("data"));
            assertEquals(204, write(first, "test_owner", 1).statusCode());

            // the same folder, so the same ./data
            try (Prom2pgProcess second = Prom2pgProcess.start(dir, env)) {
                assertEquals(2, second.awaitExit(START), second.output());
                assertTrue(second.output().contains("Not starting: the embedded PostgreSQL data directory " + dir.resolve("data")
                        + " is in use by another prom2pg (pid " + first.pid() + "); stop it, or give this one its own"
                        + " prom2pg.embedded.data-dir (PROM2PG_EMBEDDED_DATA_DIR)"), second.output());
                assertTrue(!second.output().contains("Stopping a PostgreSQL server"), second.output());
            }
            // another folder, the same port
            Path other = Files.createTempDirectory("prom2pg-owner-other");
            try (Prom2pgProcess third = Prom2pgProcess.start(other, env)) {
                assertEquals(2, third.awaitExit(START), third.output());
                assertTrue(third.output().contains("Not starting: port " + pgPort + " for the embedded PostgreSQL is taken by"
                        + " another process; set prom2pg.embedded.port (PROM2PG_EMBEDDED_PORT) to a free port"), third.output());
            }
            assertEquals(postmaster, postmasterPid(dir.resolve("data")), "the first instance's server was not touched");
            assertEquals(200, first.readyStatus());
            assertEquals(204, write(first, "test_owner", 2).statusCode());
            assertEquals(2, count(pgPort, "test_owner"));
        }
    }

    @Test
    void should_stop_a_server_left_by_a_prom2pg_that_was_killed_and_keep_its_data() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-leftover");
        int pgPort = Ports.free();
        Map<String, String> env = Map.of("PROM2PG_EMBEDDED_PORT", String.valueOf(pgPort));
        long leftover;
        try (Prom2pgProcess killed = Prom2pgProcess.start(dir, env).awaitReady(START)) {
            assertEquals(204, write(killed, "test_leftover", 1).statusCode());
            leftover = postmasterPid(dir.resolve("data"));
            ProcessHandle.of(killed.pid()).orElseThrow().destroyForcibly(); // kill -9: no shutdown hook runs
            killed.awaitExit(START);
        }
        assertTrue(ProcessHandle.of(leftover).map(ProcessHandle::isAlive).orElse(false), "its server outlives it");
        try (Prom2pgProcess next = Prom2pgProcess.start(dir, env).awaitReady(START)) {
            assertTrue(next.output().contains("Stopping a PostgreSQL server (pid " + leftover + ") left running on "
                    + dir.resolve("data") + " by a prom2pg process that is gone"), next.output());
            assertNotEquals(leftover, postmasterPid(dir.resolve("data")));
            assertEquals(1, count(pgPort, "test_leftover"), "the data written before the kill is there");
        }
    }

    static java.net.http.HttpResponse<String> write(Prom2pgProcess prom2pg, String metric, int n) throws Exception {
        return RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder()
                .addTimeseries(series("__name__", metric).addSamples(sample(1_795_493_709_000L + n * 1000L, n))).build());
    }

    static long count(int pgPort, String metric) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + pgPort + "/postgres", "postgres", "");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM prom2pg.metrics WHERE name = '" + metric + "'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static long postmasterPid(Path dataDir) throws Exception {
        return Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
    }
}
