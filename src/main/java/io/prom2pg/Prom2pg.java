package io.prom2pg;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

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
    }

    public static void main(String[] args) throws Exception {
        Prom2pg app = new Prom2pg(Map.of());
        String[] failure = new String[1];
        app.main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport main) {
                failure[0] = app.startupFailure();
                if (failure[0] != null) {
                    LOG.error("Not starting: {}", failure[0]);
                    app.main.completed();
                }
            }
        });
        int code = app.main.run(args);
        System.exit(failure[0] != null ? 2 : code);
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
