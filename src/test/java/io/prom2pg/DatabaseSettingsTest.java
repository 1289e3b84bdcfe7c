package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.store.Database;
import io.prom2pg.store.SchemaMigrator;
import io.prom2pg.support.Ports;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** The database as users name it (libpq URLs too), and what prom2pg says when it cannot use it. */
class DatabaseSettingsTest {

    @Test
    void should_store_through_a_libpq_style_url() throws Exception {
        int port = TestDatabase.shared().port();
        String schema = TestDatabase.newSchema("libpq");
        try (RunningProm2pg prom2pg = RunningProm2pg.start("postgresql://postgres@localhost:" + port + "/postgres?application_name=p2p",
                schema, Map.of("prom2pg.db.user", "")).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), WriteRequest.newBuilder()
                    .addTimeseries(series("__name__", "test_libpq").addSamples(sample(1_795_493_709_000L, 1))).build()).statusCode());
            assertEquals(1, TestDatabase.queryLong(TestDatabase.shared().jdbcUrl(),
                    "SELECT count(*) FROM " + schema + ".metrics WHERE name = 'test_libpq'"));
            assertEquals("PostgreSQL at localhost:" + port + "/postgres as postgres", database(prom2pg).describe());
        }
    }

    @Test
    void should_say_where_and_why_when_nothing_listens_on_the_port() throws Exception {
        int closed = Ports.free();
        String error = failure("jdbc:postgresql://127.0.0.1:" + closed + "/postgres", "postgres", false);
        assertTrue(error.startsWith("database 127.0.0.1:" + closed + "/postgres: Connection to 127.0.0.1:" + closed + " refused"), error);
        assertTrue(error.contains("is PostgreSQL running"), error);
        assertTrue(!error.contains("Connection is not available"), "the pool's wrapper is not the message: " + error);
    }

    @Test
    void should_quote_postgresql_with_a_hint_for_a_missing_database_or_role() throws Exception {
        int port = TestDatabase.shared().port();
        String db = failure("postgresql://localhost:" + port + "/no_such_db", "postgres", true);
        assertTrue(db.startsWith("database localhost:" + port + "/no_such_db: FATAL: database \"no_such_db\" does not exist"
                + " (SQLSTATE 3D000) - the database in prom2pg.db.url (PROM2PG_DB_URL) does not exist"), db);
        String role = failure("jdbc:postgresql://localhost:" + port + "/postgres", "nobody_here", true);
        assertTrue(role.contains("role \"nobody_here\" does not exist (SQLSTATE 28000) - the server refuses this user"), role);
    }

    /**
     * Starts prom2pg against a database it cannot use; the ping's and the migration's reason, which
     * must agree. A database that is not there yet is retried; a missing database or role is not
     * (prom2pg's launcher then stops with exit code 2).
     */
    private static String failure(String url, String user, boolean fatal) throws Exception {
        try (RunningProm2pg prom2pg = RunningProm2pg.start(url, TestDatabase.newSchema("bad"),
                Map.of("prom2pg.db.user", user, "prom2pg.db.connection-timeout-ms", "1000"))) {
            Database database = database(prom2pg);
            SchemaMigrator migrator = prom2pg.app().context().getRegistry().lookupByNameAndType("schemaMigrator", SchemaMigrator.class);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while ((database.lastPingError() == null || database.lastPingError().equals("not checked yet")
                    || migrator.lastError().equals("schema migration in progress") || fatal && migrator.fatalError() == null)
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(!prom2pg.isReady());
            assertEquals(fatal, migrator.fatalError() != null, "given up: " + migrator.fatalError());
            assertEquals(database.lastPingError(), migrator.lastError(), "the same reason in both places");
            return database.lastPingError();
        }
    }

    private static Database database(RunningProm2pg prom2pg) {
        return prom2pg.app().context().getRegistry().lookupByNameAndType("dataSource", Database.class);
    }
}
