package io.prom2pg.bench;

import java.time.Instant;

/**
 * The times of the benchmark's rounds, one sample of every series per round, {@code interval}
 * apart, in time order as Prometheus needs them (it refuses a sample older than its series'
 * last): round 0 at {@code start}, then the first-pass rounds, the rounds of a prefill by remote
 * write (none when the prefill is by SQL, which fills the hours before {@code start} instead),
 * the steady rounds and the paced rounds.
 */
record Timeline(long start, long interval, int firstPassRounds, int prefillRounds, int steadyRounds, int pacedRounds) {

    /** How far before now the timeline may end when it is aligned ("a few minutes"). */
    static final long ALIGN_SLACK_MILLIS = 180_000;

    /**
     * The timeline for a run that starts now. Not aligned ({@code alignMillis} 0), it ends two
     * intervals before now (as the benchmark always has). Aligned, the last steady round is the
     * last slot of an {@code alignMillis} window ({@code k * alignMillis - interval}), the earliest
     * such window whose timeline does not end before now minus {@link #ALIGN_SLACK_MILLIS}: its
     * times may then lie up to {@code alignMillis} ahead of now.
     */
    static Timeline choose(long nowMillis, long interval, int firstPassRounds, int prefillRounds, int steadyRounds,
            int pacedRounds, long alignMillis) {
        int total = firstPassRounds + prefillRounds + steadyRounds + pacedRounds;
        if (alignMillis <= 0) {
            long start = (nowMillis / interval - total - 1) * interval;
            return new Timeline(start, interval, firstPassRounds, prefillRounds, steadyRounds, pacedRounds);
        }
        if (alignMillis % interval != 0) {
            throw new IllegalArgumentException("ALIGN_MS must be a multiple of " + interval + " ms, not " + alignMillis);
        }
        // last steady = k * align - interval; the timeline's end = last steady + paced rounds
        long k = Math.floorDiv(nowMillis - ALIGN_SLACK_MILLIS - (long) pacedRounds * interval + interval + alignMillis - 1,
                alignMillis);
        long lastSteady = k * alignMillis - interval;
        long start = lastSteady - (long) (firstPassRounds + prefillRounds + steadyRounds - 1) * interval;
        return new Timeline(start, interval, firstPassRounds, prefillRounds, steadyRounds, pacedRounds);
    }

    /** The rounds of each phase and their spacing, without the start: what two runs must share to send the same bodies. */
    String shape() {
        return String.format("%d+%d+%d+%d rounds %d ms apart", firstPassRounds, prefillRounds, steadyRounds, pacedRounds, interval);
    }

    long time(int round) {
        return start + round * interval;
    }

    int firstPrefill() {
        return firstPassRounds;
    }

    int firstSteady() {
        return firstPassRounds + prefillRounds;
    }

    int firstPaced() {
        return firstSteady() + steadyRounds;
    }

    long lastSteadyTime() {
        return time(firstPaced() - 1);
    }

    /**
     * One line for the report: the first pass, the prefill, the steady and paced ranges (UTC), and,
     * when aligned, how many rounds of every series the window of the last steady round held
     * before the steady phase.
     *
     * @param sqlPrefillMillis the span the SQL prefill filled before {@code start}, or 0
     */
    String describe(long sqlPrefillMillis, long alignMillis) {
        StringBuilder b = new StringBuilder("timeline: first pass ").append(range(0, firstPassRounds));
        if (prefillRounds > 0) {
            b.append(", prefill ").append(range(firstPrefill(), prefillRounds)).append(" by remote write");
        } else if (sqlPrefillMillis > 0) {
            b.append(", prefill ").append(Instant.ofEpochMilli(start - sqlPrefillMillis)).append(" – ")
                    .append(Instant.ofEpochMilli(start - interval)).append(" by SQL, before the first pass");
        }
        b.append(", steady ").append(range(firstSteady(), steadyRounds));
        if (pacedRounds > 0) {
            b.append(", paced ").append(range(firstPaced(), pacedRounds));
        }
        if (alignMillis > 0) {
            long windowStart = Math.floorDiv(lastSteadyTime(), alignMillis) * alignMillis;
            long earliest = start - sqlPrefillMillis;
            long held = Math.max(0, Math.floorDiv(time(firstSteady()) - Math.max(windowStart, earliest) + interval - 1, interval));
            String span = alignMillis % 60_000 == 0 ? alignMillis / 60_000 + "-minute" : alignMillis / 1000 + "-second";
            b.append(String.format("; the steady phase ends in the last %d s of the %s window from %s,"
                    + " which held %d round(s) of every series before it", interval / 1000, span,
                    Instant.ofEpochMilli(windowStart), held));
        }
        return b.toString();
    }

    private String range(int first, int rounds) {
        return rounds == 1 ? Instant.ofEpochMilli(time(first)).toString()
                : Instant.ofEpochMilli(time(first)) + " – " + Instant.ofEpochMilli(time(first + rounds - 1))
                        + " (" + rounds + " rounds)";
    }
}
