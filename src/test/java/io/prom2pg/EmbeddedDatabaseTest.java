package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.Database;
import io.prom2pg.store.EmbeddedPostgresServer;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import org.junit.jupiter.api.Test;

/** With no database configured prom2pg runs its own PostgreSQL, and keeps the data across restarts. */
class EmbeddedDatabaseTest {

    @Test
    void should_run_an_embedded_postgresql_and_keep_the_data_across_restarts() throws Exception {
        Path dataDir = Files.createTempDirectory("prom2pg-embedded").resolve("data");
        Map<String, String> embedded = Map.of("prom2pg.embedded.data-dir", dataDir.toString(),
                "prom2pg.embedded.port", String.valueOf(Ports.free()));
        WriteRequest request = WriteRequest.newBuilder()
                .addTimeseries(series("__name__", "test_restart", "job", "a").addSamples(sample(1_795_493_709_000L, 42)))
                .build();

        try (RunningProm2pg first = RunningProm2pg.start("", "prom2pg", embedded).awaitReady(Duration.ofSeconds(60))) {
            assertNotNull(database(first).embedded(), "embedded server in use");
            assertEquals(204, RemoteWrite.post(first.writeUri(), request).statusCode());
        }
        assertTrue(Files.exists(dataDir.resolve("PG_VERSION")), "data directory created at " + dataDir);

        try (RunningProm2pg second = RunningProm2pg.start("", "prom2pg", embedded).awaitReady(Duration.ofSeconds(60))) {
            try (Connection c = database(second).getConnection(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT value FROM prom2pg.metrics WHERE name = 'test_restart'")) {
                assertTrue(rs.next(), "sample written before the restart is there");
                assertEquals(42.0, rs.getDouble(1));
            }
        }
    }

    @Test
    void should_start_the_embedded_postgresql_with_the_configured_server_settings() throws Exception {
        Path dataDir = Files.createTempDirectory("prom2pg-embedded-settings").resolve("data");
        Map<String, String> embedded = Map.of("prom2pg.embedded.data-dir", dataDir.toString(),
                "prom2pg.embedded.port", String.valueOf(Ports.free()),
                "prom2pg.embedded.settings", "shared_buffers=48MB, max_wal_size=3GB,search_path=public,pg_catalog");
        try (RunningProm2pg prom2pg = RunningProm2pg.start("", "prom2pg", embedded).awaitReady(Duration.ofSeconds(60));
             Connection c = database(prom2pg).getConnection(); Statement st = c.createStatement()) {
            assertEquals("48MB", show(st, "shared_buffers"));
            assertEquals("3GB", show(st, "max_wal_size"));
            assertEquals("public,pg_catalog", show(st, "search_path"), "a value may hold commas");
            assertEquals("on", show(st, "fsync"), "prom2pg's own settings stay");
        }
    }

    @Test
    void should_refuse_embedded_settings_that_are_not_name_value_pairs() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddedPostgresServer.parseSettings("=1GB"));
        assertTrue(e.getMessage().contains("'=1GB' is not name=value"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EmbeddedPostgresServer.parseSettings("shared_buffers"));
        IllegalArgumentException spaces = assertThrows(IllegalArgumentException.class,
                () -> EmbeddedPostgresServer.parseSettings("shared_preload_libraries=pg_stat_statements, auto_explain"));
        assertTrue(spaces.getMessage().contains("without spaces or quotes"), spaces.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EmbeddedPostgresServer.parseSettings("shared_buffers=1GB,"));
        assertThrows(IllegalArgumentException.class, () -> EmbeddedPostgresServer.parseSettings("work_mem='4MB'"));
        assertThrows(IllegalArgumentException.class, () -> EmbeddedPostgresServer.parseSettings("work_mem=4MB;rm"));
        assertEquals(Map.of("shared_preload_libraries", "pg_stat_statements,auto_explain", "work_mem", "4MB"),
                EmbeddedPostgresServer.parseSettings("shared_preload_libraries=pg_stat_statements,auto_explain, work_mem = 4MB"));
        assertEquals(Map.of(), EmbeddedPostgresServer.parseSettings(" "));
    }

    private static String show(Statement st, String setting) throws Exception {
        try (ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static Database database(RunningProm2pg prom2pg) {
        return prom2pg.app().context().getRegistry().lookupByNameAndType("dataSource", Database.class);
    }
}
