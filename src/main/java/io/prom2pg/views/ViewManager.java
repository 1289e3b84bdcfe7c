package io.prom2pg.views;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import javax.sql.DataSource;

import io.prom2pg.store.Schema;
import io.prom2pg.store.SchemaMigrator;
import io.prom2pg.store.Sql;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or replaces the views declared in the views file, in their own schema
 * ({@code prom2pg.views.schema}), so that ingest never depends on them. At start-up a view that
 * PostgreSQL refuses is reported by {@link #startupFailure()} with the file, the view and
 * PostgreSQL's error, and prom2pg's launcher stops on it; later changes
 * of the file are applied by the views route, and a broken one is logged and left out while the
 * views already there stay.
 */
public class ViewManager implements OnCamelContextStarted {

    private static final Logger LOG = LoggerFactory.getLogger(ViewManager.class);

    private DataSource dataSource;
    private SchemaMigrator migrator;
    private String schema = "prom2pg";
    private String viewsSchema = "prom2pg_views";
    private String file = "routes/config/views.yaml";
    private long startupWaitMillis = 15_000;
    private volatile long appliedModified = Long.MIN_VALUE;
    private volatile String startupFailure;

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setMigrator(SchemaMigrator migrator) {
        this.migrator = migrator;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    public void setViewsSchema(String viewsSchema) {
        this.viewsSchema = Schema.checkName(viewsSchema);
    }

    public void setFile(String file) {
        this.file = file;
    }

    /** Start-up: once the schema is there, the views must apply, or prom2pg does not start. */
    @Override
    public void onContextStarted(CamelContext context) {
        long deadline = System.currentTimeMillis() + startupWaitMillis;
        while (!migrator.isReady() && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!migrator.isReady()) {
            LOG.warn("Database not ready at start-up: views from {} are created once it is", file);
            return;
        }
        try {
            apply();
        } catch (RuntimeException e) {
            // Camel ignores exceptions of lifecycle callbacks: prom2pg's launcher reads this and stops
            startupFailure = e.getMessage();
            LOG.error("{}", startupFailure);
        }
    }

    /** Why the views could not be created at start-up, or null. */
    public String startupFailure() {
        return startupFailure;
    }

    /** For the views route: applies the file again if it changed since it was last applied. */
    public void applyIfChanged() {
        if (!migrator.isReady()) {
            return;
        }
        Path path = Path.of(file);
        long modified = modified(path);
        if (modified == appliedModified) {
            return;
        }
        try {
            apply();
        } catch (RuntimeException e) {
            appliedModified = modified; // the same broken file is not tried again every tick
            // the route logs it and counts a failure; the views already there stay
            throw new IllegalStateException("views not applied (the views already there stay; tried again when the file"
                    + " changes): " + e.getMessage(), e);
        }
    }

    /** Creates the views schema and creates or replaces every view, each in its own transaction. */
    public synchronized int apply() {
        Path path = Path.of(file);
        long modified = modified(path);
        List<ViewDefinitions.View> views = ViewDefinitions.read(path, schema);
        java.util.Map<String, String> metering = ViewDefinitions.meteringSources(path);
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            for (var source : metering.entrySet()) {
                try (var ps = c.prepareStatement("UPDATE " + schema + ".metering_sources SET metric = ? WHERE measure = ?")) {
                    ps.setString(1, source.getValue());
                    ps.setString(2, source.getKey());
                    ps.executeUpdate();
                }
            }
            try {
                st.execute("CREATE SCHEMA IF NOT EXISTS " + viewsSchema);
            } catch (SQLException e) {
                if (!"23505".equals(e.getSQLState()) && !"42P06".equals(e.getSQLState())) {
                    throw e; // another instance created it at the same moment: fine
                }
            }
            for (ViewDefinitions.View view : views) {
                try {
                    c.setAutoCommit(false);
                    // several prom2pg instances may apply the same file at once
                    // views are replaced at start-up: wait for readers of the old ones, however long
                    st.execute("SET LOCAL lock_timeout = 0");
                    st.execute("SELECT pg_advisory_xact_lock(hashtext(" + ViewDefinitions.literal(viewsSchema + " views") + "))");
                    st.execute("DROP VIEW IF EXISTS " + viewsSchema + "." + view.name());
                    st.execute("CREATE VIEW " + viewsSchema + "." + view.name() + " AS " + view.select());
                    st.execute("COMMENT ON VIEW " + viewsSchema + "." + view.name() + " IS "
                            + ViewDefinitions.literal(view.description()));
                    c.commit();
                } catch (SQLException e) {
                    c.rollback();
                    throw new IllegalStateException("views file " + path.toAbsolutePath() + ", view " + view.name()
                            + ": PostgreSQL refused it: " + Sql.oneLine(e), e);
                } finally {
                    c.setAutoCommit(true);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("views file " + path.toAbsolutePath() + ": " + Sql.oneLine(e), e);
        }
        appliedModified = modified;
        LOG.info("Views from {}: {} created or replaced in schema {}", path.toAbsolutePath(), views.size(), viewsSchema);
        return views.size();
    }

    private static long modified(Path path) {
        try {
            return Files.isRegularFile(path) ? Files.getLastModifiedTime(path).toMillis() : 0;
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}
