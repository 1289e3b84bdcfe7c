package io.prom2pg.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time used by the receiver (prom2pg, or the Prometheus it is compared with), by PostgreSQL
 * (every process named {@code postgres}) and by this load generator, from {@code /proc} (Linux):
 * what shares the cores during a phase.
 */
record CpuUsage(double receiverSeconds, double postgresSeconds, double generatorSeconds) {

    /** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
    private static final double TICKS = 100.0;

    /** @param postgres whether PostgreSQL's processes are counted (not for a receiver without it) */
    static CpuUsage now(long receiverPid, boolean postgres) {
        return new CpuUsage(seconds(receiverPid), postgres ? postgres() : 0, seconds(ProcessHandle.current().pid()));
    }

    CpuUsage since(CpuUsage start) {
        return new CpuUsage(receiverSeconds - start.receiverSeconds, postgresSeconds - start.postgresSeconds,
                generatorSeconds - start.generatorSeconds);
    }

    CpuUsage plus(CpuUsage other) {
        return new CpuUsage(receiverSeconds + other.receiverSeconds, postgresSeconds + other.postgresSeconds,
                generatorSeconds + other.generatorSeconds);
    }

    /** @param receiver the receiver's name; PostgreSQL is named when {@code postgres} */
    String line(double wallSeconds, String receiver, boolean postgres) {
        int cores = Runtime.getRuntime().availableProcessors();
        return String.format("CPU seconds: %s %.2f, %sload generator %.2f (of %.2f on %d cores)",
                receiver, receiverSeconds, postgres ? String.format("PostgreSQL %.2f, ", postgresSeconds) : "",
                generatorSeconds, wallSeconds * cores, cores);
    }

    /** utime + stime of a process; 0 when it is gone or /proc is not there. */
    private static double seconds(long pid) {
        return seconds(pid, false);
    }

    /**
     * utime + stime of a process, with {@code children} also cutime + cstime (what its children
     * that ended and were waited for used); 0 when it is gone or /proc is not there.
     */
    private static double seconds(long pid, boolean children) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            // the fields after the command name, which is in parentheses and may hold spaces
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            if (children) {
                ticks += Long.parseLong(f[13]) + Long.parseLong(f[14]);
            }
            return ticks / TICKS;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * PostgreSQL's processes that are alive now, with what the ones that ended used (the
     * postmaster's children's times: a session or autovacuum worker that ends during a phase
     * moves from one to the other instead of dropping out of the sum).
     */
    private static double postgres() {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> {
                        try {
                            return Files.readString(p.resolve("comm")).trim().equals("postgres");
                        } catch (IOException e) {
                            return false;
                        }
                    })
                    .mapToDouble(p -> seconds(Long.parseLong(p.getFileName().toString()), true))
                    .sum();
        } catch (IOException e) {
            return 0;
        }
    }
}
