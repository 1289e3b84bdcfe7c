package io.prom2pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import com.zaxxer.hikari.HikariPoolMXBean;
import io.prom2pg.store.Database;
import io.prom2pg.store.SchemaMigrator;
import io.prom2pg.support.Await;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Start-up cannot wedge: TimescaleDB is used only when it can be, a migration that retrying
 * cannot fix stops (with the reason), a transient one is retried, and no attempt keeps a connection.
 */
class SchemaMigrationTest {

    @Test
    void should_use_plain_partitioning_when_timescaledb_is_installed_but_not_preloaded() throws Exception {
        // it puts a stand-in extension into the server's own files: the embedded server's only
        Assumptions.assumeTrue(TestDatabase.shared().embedded(), "needs the embedded server");
        String url = TestDatabase.shared().jdbcUrl();
        Path extensions = Path.of(TestDatabase.queryString(url, "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'"), "extension");
        Path control = extensions.resolve("timescaledb.control");
        Path script = extensions.resolve("timescaledb--2.99.0.sql");
        // a stand-in for a TimescaleDB that is installed but not preloaded: creating it ends the
        // session, as the real one's "must be preloaded" FATAL does
        Files.writeString(control, "comment = 'stand-in'\ndefault_version = '2.99.0'\nrelocatable = false\n");
        Files.writeString(script, "SELECT pg_terminate_backend(pg_backend_pid());\n");
        try {
            assertEquals(1, TestDatabase.queryLong(url, "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"));
            String schema = TestDatabase.newSchema("notpreloaded");
            try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
                assertEquals("p", TestDatabase.queryString(url, "SELECT relkind::text FROM pg_class WHERE oid = '" + schema + ".samples'::regclass"),
                        "plain declarative partitioning");
                assertEquals(0, TestDatabase.queryLong(url, "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"));
            }
        } finally {
            Files.deleteIfExists(control);
            Files.deleteIfExists(script);
        }
    }

    @Test
    void should_stop_trying_on_a_permission_error_and_say_so() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
            st.execute("DO $$ BEGIN CREATE ROLE prom2pg_no_create LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
        String withoutUser = "jdbc:postgresql://localhost:" + TestDatabase.shared().port() + "/postgres";
        try (RunningProm2pg prom2pg = RunningProm2pg.start(withoutUser, TestDatabase.newSchema("noperm"),
                Map.of("prom2pg.db.user", "prom2pg_no_create"))) {
            SchemaMigrator migrator = bean(prom2pg, "schemaMigrator", SchemaMigrator.class);
            Await.until(() -> migrator.fatalError() != null, Duration.ofSeconds(30), "the migration gives up");
            assertTrue(migrator.fatalError().startsWith("schema migration failed, and retrying cannot fix it: database localhost:"),
                    migrator.fatalError());
            assertTrue(migrator.fatalError().contains("permission denied for database postgres (SQLSTATE 42501)"), migrator.fatalError());
            assertTrue(!prom2pg.isReady());
            assertEquals(0, pool(prom2pg).getActiveConnections(), "no connection kept");
        }
    }

    @Test
    void should_retry_a_lock_timeout_returning_its_connection_every_time_then_migrate() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("locked_migration");
        try (RunningProm2pg first = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            // the schema exists; the next start's first statement on it has to wait for this lock
        }
        try (Connection locker = TestDatabase.connect(url); Statement st = locker.createStatement()) {
            locker.setAutoCommit(false);
            st.execute("LOCK TABLE " + schema + ".flyway_schema_history IN ACCESS EXCLUSIVE MODE");
            try (RunningProm2pg prom2pg = RunningProm2pg.start(url, schema, Map.of("prom2pg.db.lock-timeout-ms", "200",
                    "prom2pg.db.pool-size", "3"))) {
                SchemaMigrator migrator = bean(prom2pg, "schemaMigrator", SchemaMigrator.class);
                Thread.sleep(4_000); // attempts at 0, 0.5, 1.5 and 3.5 s
                assertTrue(migrator.lastError().contains("lock timeout"), migrator.lastError());
                assertNull(migrator.fatalError(), "a lock timeout is retried");
                HikariPoolMXBean pool = pool(prom2pg);
                // an attempt (or a readiness ping) may hold a connection at any instant; one that a
                // failed attempt kept would hold it for good
                Await.until(() -> pool.getActiveConnections() == 0, Duration.ofSeconds(10),
                        "every failed attempt gave its connection back");
                assertTrue(pool.getTotalConnections() <= 3);
                locker.rollback();
                prom2pg.awaitReady(Duration.ofSeconds(30));
            }
        }
    }

    @Test
    void should_bring_the_checksum_of_a_schema_made_by_the_earlier_v1_up_to_date() throws Exception {
        String url = TestDatabase.shared().jdbcUrl();
        String schema = TestDatabase.newSchema("v1_checksum");
        try (RunningProm2pg first = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
            assertEquals(1668635630, TestDatabase.queryLong(url, "SELECT checksum FROM " + schema
                    + ".flyway_schema_history WHERE version = '1'"), "V1 as shipped (change it and a database made before breaks)");
        }
        // databases made by each earlier V1 start, their checksum brought up to date
        for (int earlier : new int[] {-283095503, 236762543}) {
            try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE " + schema + ".flyway_schema_history SET checksum = " + earlier + " WHERE version = '1'");
            }
            try (RunningProm2pg again = RunningProm2pg.start(url, schema, Map.of()).awaitReady(Duration.ofSeconds(30))) {
                assertNull(bean(again, "schemaMigrator", SchemaMigrator.class).fatalError());
                assertEquals(1668635630, TestDatabase.queryLong(url, "SELECT checksum FROM " + schema
                        + ".flyway_schema_history WHERE version = '1'"));
            }
        }
    }

    private static HikariPoolMXBean pool(RunningProm2pg prom2pg) {
        HikariPoolMXBean pool = bean(prom2pg, "dataSource", Database.class).getHikariPoolMXBean();
        assertNotNull(pool);
        return pool;
    }

    private static <T> T bean(RunningProm2pg prom2pg, String name, Class<T> type) {
        return prom2pg.app().context().getRegistry().lookupByNameAndType(name, type);
    }
}
