package io.prom2pg.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ports for servers a test starts.
 *
 * <p>A port the kernel hands out for {@code new ServerSocket(0)} comes from the ephemeral range, the
 * same range the local ends of outgoing connections (JDBC, HTTP clients) are taken from; between
 * probing such a port and binding it, one of the test's own connections can take it. These ports are
 * picked below the ephemeral range instead, each at most once per JVM, and probed before use.
 */
public final class Ports {

    private static final int FIRST = 15_000;
    private static final int END = Math.min(32_768, ephemeralLow());
    private static final AtomicInteger NEXT = new AtomicInteger(ThreadLocalRandom.current().nextInt(END - FIRST));

    private Ports() {
    }

    /** A port nothing listens on now and that no outgoing connection will be given. */
    public static int free() {
        for (int tries = 0; tries < END - FIRST; tries++) {
            int port = FIRST + Math.floorMod(NEXT.getAndIncrement(), END - FIRST);
            if (bindable(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port in " + FIRST + "-" + (END - 1));
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int ephemeralLow() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            return Math.max(FIRST + 1_000, Integer.parseInt(range.split("\\s+")[0]));
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
