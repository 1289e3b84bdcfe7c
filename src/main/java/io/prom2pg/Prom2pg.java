package io.prom2pg;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.prom2pg.config.ConfigurationException;
import io.prom2pg.config.Settings;
import io.prom2pg.store.Database;
import io.prom2pg.store.SchemaMigrator;
import io.prom2pg.views.ViewManager;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs prom2pg on Camel Main: loads {@code application.properties}, then the YAML routes from
 * the {@code routes/} folder beside where it runs ({@code prom2pg.routes.dir}), or the copy
 * packed in the jar when that folder does not exist.
 */
public final class Prom2pg {

    private static final Logger LOG = LoggerFactory.getLogger(Prom2pg.class);

    private final Main main;

    private Prom2pg(Map<String, String> overrides) {
        main = new Main(Prom2pg.class);
        overrides.forEach(main::addOverrideProperty);
        main.addMainListener(new RoutesLocation());
        main.addMainListener(new ReadyLine());
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).stream().anyMatch(a -> a.equals("--help") || a.equals("-h") || a.equals("-help"))) {
            System.out.print(Settings.usage());
            System.exit(0);
        }
        Prom2pg app = new Prom2pg(Map.of());
        String[] failure = new String[1];
        app.main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport main) {
                failure[0] = app.startupFailure();
                if (failure[0] != null) {
                    LOG.error("Not starting: {}", failure[0]);
                    app.main.completed();
                    return;
                }
                // a schema migration that retrying cannot fix ends prom2pg the same way, when it comes
                SchemaMigrator migrator = app.context().getRegistry().lookupByNameAndType("schemaMigrator", SchemaMigrator.class);
                if (migrator != null) {
                    migrator.onFatal(reason -> {
                        failure[0] = reason;
                        LOG.error("Not starting: {}", reason);
                        app.main.completed();
                    });
                }
            }
        });
        int code;
        try {
            code = app.main.run(args);
        } catch (Exception e) {
            ConfigurationException configuration = configurationError(e);
            if (configuration == null) {
                throw e;
            }
            // a setting or file prom2pg cannot use: one line and exit code 2, as for a broken view
            LOG.error("Not starting: {}", configuration.getMessage());
            System.exit(2);
            return;
        }
        System.exit(failure[0] != null ? 2 : code);
    }

    private static ConfigurationException configurationError(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof ConfigurationException c) {
                return c;
            }
        }
        return null;
    }

    /**
     * Starts prom2pg without blocking; the overrides win over every other source of properties.
     * Throws when a start-up check fails (a view PostgreSQL refuses, say), after stopping again.
     */
    public static Prom2pg start(Map<String, String> overrides) throws Exception {
        Prom2pg app = new Prom2pg(overrides);
        app.main.start();
        String failure = app.startupFailure();
        if (failure != null) {
            app.stop();
            throw new IllegalStateException("prom2pg did not start: " + failure);
        }
        return app;
    }

    /** What stops prom2pg at start-up, or null. */
    private String startupFailure() {
        ViewManager views = main.getCamelContext().getRegistry().lookupByNameAndType("viewManager", ViewManager.class);
        return views == null ? null : views.startupFailure();
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    public void stop() throws Exception {
        main.stop();
    }

    /** One line once prom2pg can take writes: where to send them, where to watch it, where the data is. */
    private static final class ReadyLine extends MainListenerSupport {
        @Override
        public void afterStart(BaseMainSupport main) {
            CamelContext context = main.getCamelContext();
            SchemaMigrator migrator = context.getRegistry().lookupByNameAndType("schemaMigrator", SchemaMigrator.class);
            Database database = context.getRegistry().lookupByNameAndType("dataSource", Database.class);
            if (migrator == null || database == null) {
                return;
            }
            String scheme = Boolean.parseBoolean(property(context, "prom2pg.tls.enabled")) ? "https" : "http";
            String data = scheme + "://" + property(context, "prom2pg.http.host") + ":" + property(context, "prom2pg.http.port");
            String management = "http://0.0.0.0:" + property(context, "prom2pg.management.port");
            migrator.whenMigrated().thenRun(() -> LOG.info(
                    "prom2pg ready: remote write {}/api/v1/write, remote read {}/api/v1/read, reports {}/api/v1/reports, console {}/console/;"
                            + " health and metrics {}/observe/health/ready, {}/observe/metrics; data: {}, schema {}",
                    data, data, data, data, management, management, database.describe(), property(context, "prom2pg.db.schema")));
        }

        private static String property(CamelContext context, String key) {
            return context.getPropertiesComponent().resolveProperty(key).orElse("");
        }
    }

    /** Chooses where routes are loaded from once properties are known. */
    private static final class RoutesLocation extends MainListenerSupport {
        @Override
        public void beforeConfigure(BaseMainSupport main) {
            String dir = main.getCamelContext().getPropertiesComponent()
                    .resolveProperty("prom2pg.routes.dir").orElse("routes");
            Path path = Path.of(dir);
            String pattern;
            if (Files.isDirectory(path)) {
                pattern = "file:" + path.toAbsolutePath() + "/*.yaml";
                LOG.info("Loading routes from {}", path.toAbsolutePath());
            } else {
                pattern = "classpath:routes/*.yaml";
                LOG.info("No routes folder at {}: loading the routes packed in the jar", path.toAbsolutePath());
            }
            main.configure().withRoutesIncludePattern(pattern);
        }
    }
}
