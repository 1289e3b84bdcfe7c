package io.prom2pg;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

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
        Main main = new Prom2pg(Map.of()).main;
        System.exit(main.run(args));
    }

    /** Starts prom2pg without blocking; the overrides win over every other source of properties. */
    public static Prom2pg start(Map<String, String> overrides) throws Exception {
        Prom2pg app = new Prom2pg(overrides);
        app.main.start();
        return app;
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
