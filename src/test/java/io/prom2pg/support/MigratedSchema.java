package io.prom2pg.support;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import io.prom2pg.store.Database;
import io.prom2pg.store.SchemaMigrator;

/**
 * A schema of its own on the shared test PostgreSQL, migrated to the latest version, and a
 * connection pool on it: for tests of the storage beans without the whole application.
 */
public final class MigratedSchema implements AutoCloseable {

    private final String url = TestDatabase.shared().jdbcUrl();
    private final String schema;
    private final Database database = new Database();
    private final SchemaMigrator migrator = new SchemaMigrator();

    public MigratedSchema(String prefix) throws InterruptedException {
        schema = TestDatabase.newSchema(prefix);
        database.setUrl(url);
        database.setUser("postgres");
        database.start();
        migrator.setDataSource(database);
        migrator.setSchema(schema);
        migrator.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!migrator.isReady() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(migrator.isReady(), "schema migrated: " + migrator.lastError());
    }

    public String url() {
        return url;
    }

    public String schema() {
        return schema;
    }

    public Database dataSource() {
        return database;
    }

    @Override
    public void close() {
        migrator.stop();
        database.close();
    }
}
