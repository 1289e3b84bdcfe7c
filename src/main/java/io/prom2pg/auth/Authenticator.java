package io.prom2pg.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import at.favre.lib.crypto.bcrypt.BCrypt;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.prom2pg.failure.UnauthorizedException;
import org.apache.camel.CamelContext;
import org.apache.camel.Header;
import org.apache.camel.spi.OnCamelContextStarted;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates the data endpoints (write, read, reports) when switched on: HTTP basic auth with
 * bcrypt password hashes ({@code user:$2y$...} lines in a file), or bearer tokens (one a line in
 * a file). Both files are read again when they change, so a Kubernetes Secret can be rotated
 * without a restart. Comparisons are constant-time, failures are counted by reason, and no
 * secret is ever logged. A verified basic password is remembered (by its SHA-256) so that bcrypt
 * does not run on every request.
 */
public class Authenticator implements OnCamelContextStarted {

    private static final Logger LOG = LoggerFactory.getLogger(Authenticator.class);

    private boolean enabled;
    private String usersFile = "";
    private String tokensFile = "";
    private volatile Loaded<Map<String, String>> users = new Loaded<>(0, Map.of());
    private volatile Loaded<List<byte[]>> tokens = new Loaded<>(0, List.of());
    private final Set<String> verified = ConcurrentHashMap.newKeySet();
    private MeterRegistry registry;

    private record Loaded<T>(long modified, T value) {
    }

    /** A bcrypt hash of nothing in particular, made once, for unknown users. */
    private static final class DummyHash {
        static final char[] VALUE = BCrypt.withDefaults().hashToString(10, "prom2pg".toCharArray()).toCharArray();
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public void setUsersFile(String usersFile) {
        this.usersFile = usersFile;
    }

    public void setTokensFile(String tokensFile) {
        this.tokensFile = tokensFile;
    }

    @Override
    public void onContextStarted(CamelContext context) {
        registry = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (enabled) {
            LOG.info("Authentication on: basic users from {}, bearer tokens from {}",
                    usersFile.isBlank() ? "(none)" : usersFile, tokensFile.isBlank() ? "(none)" : tokensFile);
        }
    }

    /** Passes, or throws {@link UnauthorizedException}. */
    public void check(@Header("Authorization") String authorization) {
        if (!enabled) {
            return;
        }
        if (authorization == null || authorization.isBlank()) {
            fail("missing", "credentials required");
        }
        String value = authorization.trim();
        if (value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            if (!tokenMatches(value.substring(7).trim())) {
                fail("bad_token", "invalid bearer token");
            }
            return;
        }
        if (value.regionMatches(true, 0, "Basic ", 0, 6)) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(value.substring(6).trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                fail("malformed", "malformed basic credentials");
                return;
            }
            int colon = decoded.indexOf(':');
            if (colon < 0 || !passwordMatches(decoded.substring(0, colon), decoded.substring(colon + 1))) {
                fail("bad_password", "invalid user or password");
            }
            return;
        }
        fail("unsupported", "unsupported authorization scheme");
    }

    private boolean tokenMatches(String token) {
        byte[] presented = sha256(token);
        boolean match = false;
        for (byte[] known : tokens().value()) {
            match |= MessageDigest.isEqual(presented, known); // no early exit
        }
        return match;
    }

    private boolean passwordMatches(String user, String password) {
        String hash = users().value().get(user);
        String remembered = user + ":" + Base64.getEncoder().encodeToString(sha256(password)) + ":" + hash;
        if (hash == null) {
            BCrypt.verifyer().verify(password.toCharArray(), DummyHash.VALUE);
            return false; // same work as a known user, so the answer time tells nothing
        }
        if (verified.contains(remembered)) {
            return true;
        }
        boolean ok = BCrypt.verifyer().verify(password.toCharArray(), hash.toCharArray()).verified;
        if (ok) {
            if (verified.size() > 10_000) {
                verified.clear();
            }
            verified.add(remembered);
        }
        return ok;
    }

    private Loaded<Map<String, String>> users() {
        long modified = modified(usersFile);
        Loaded<Map<String, String>> current = users;
        if (modified != current.modified()) {
            Map<String, String> map = new HashMap<>();
            for (String line : lines(usersFile)) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    map.put(line.substring(0, colon), line.substring(colon + 1));
                }
            }
            current = new Loaded<>(modified, Map.copyOf(map));
            users = current;
            verified.clear();
        }
        return current;
    }

    private Loaded<List<byte[]>> tokens() {
        long modified = modified(tokensFile);
        Loaded<List<byte[]>> current = tokens;
        if (modified != current.modified()) {
            List<byte[]> list = new ArrayList<>();
            for (String line : lines(tokensFile)) {
                list.add(sha256(line));
            }
            current = new Loaded<>(modified, List.copyOf(list));
            tokens = current;
        }
        return current;
    }

    private void fail(String reason, String message) {
        if (registry != null) {
            Counter.builder("prom2pg.auth.failures").description("Requests refused for missing or wrong credentials")
                    .tag("reason", reason).register(registry).increment();
        }
        throw new UnauthorizedException(message);
    }

    private static long modified(String file) {
        try {
            Path p = Path.of(file);
            return file.isBlank() || !Files.isRegularFile(p) ? 0 : Files.getLastModifiedTime(p).toMillis() ^ Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static List<String> lines(String file) {
        if (file.isBlank()) {
            return List.of();
        }
        try {
            List<String> out = new ArrayList<>();
            for (String line : Files.readAllLines(Path.of(file), StandardCharsets.UTF_8)) {
                String t = line.strip();
                if (!t.isEmpty() && !t.startsWith("#")) {
                    out.add(t);
                }
            }
            return out;
        } catch (IOException e) {
            LOG.warn("Cannot read credentials file {}: {}", file, e.getMessage());
            return List.of();
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
