package io.prom2pg.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time used by prom2pg, by PostgreSQL (every process named {@code postgres}) and by this
 * load generator, from {@code /proc} (Linux): what shares the cores during a phase.
 */
record CpuUsage(double prom2pgSeconds, double postgresSeconds, double generatorSeconds) {

    /** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
    private static final double TICKS = 100.0;

    static CpuUsage now(long prom2pgPid) {
        return new CpuUsage(seconds(prom2pgPid), postgres(), seconds(ProcessHandle.current().pid()));
    }

    CpuUsage since(CpuUsage start) {
        return new CpuUsage(prom2pgSeconds - start.prom2pgSeconds, postgresSeconds - start.postgresSeconds,
                generatorSeconds - start.generatorSeconds);
    }

    String line(double wallSeconds) {
        return String.format("CPU seconds: prom2pg %.2f, PostgreSQL %.2f, load generator %.2f (of %.2f on %d cores)",
                prom2pgSeconds, postgresSeconds, generatorSeconds, wallSeconds * Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().availableProcessors());
    }

    /** utime + stime of a process; 0 when it is gone or /proc is not there. */
    private static double seconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            // the fields after the command name, which is in parentheses and may hold spaces
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** PostgreSQL's processes that are alive now (its backends live as long as the pool's connections). */
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
                    .mapToDouble(p -> seconds(Long.parseLong(p.getFileName().toString())))
                    .sum();
        } catch (IOException e) {
            return 0;
        }
    }
}
