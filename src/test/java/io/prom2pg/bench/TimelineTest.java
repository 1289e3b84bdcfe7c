package io.prom2pg.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;

import org.junit.jupiter.api.Test;

/** The benchmark's timeline: rounds in time order, and the alignment of the steady phase's end. */
class TimelineTest {

    private static final long I = 15_000;
    private static final long NOW = Instant.parse("2026-12-02T12:07:31.250Z").toEpochMilli();

    @Test
    void unalignedEndsTwoIntervalsBeforeNowAsBefore() {
        Timeline t = Timeline.choose(NOW, I, 1, 0, 10, 0, 0);
        assertEquals((NOW / I - 11 - 1) * I, t.start());
        assertEquals(t.start() + 10 * I, t.lastSteadyTime());
        assertTrue(t.lastSteadyTime() < NOW - I);
    }

    @Test
    void prefillByRemoteWriteLiesBetweenFirstPassAndSteady() {
        Timeline t = Timeline.choose(NOW, I, 1, 240, 10, 2, 0);
        assertEquals(1, t.firstPrefill());
        assertEquals(241, t.firstSteady());
        assertEquals(251, t.firstPaced());
        assertEquals(t.time(0) + 241 * I, t.time(t.firstSteady()));
        assertTrue(t.time(t.firstPaced() + 1) < NOW);
    }

    @Test
    void alignedLastSteadyRoundIsTheLastSlotOfTheEarliestWindowNotEndingBeforeNowMinusSlack() {
        long window = 900_000;
        Timeline t = Timeline.choose(NOW, I, 1, 60, 5, 0, window);
        // 12:07:31 - 3 min = 12:04:31: the window 12:00-12:15 ends after it, 11:45-12:00 before it
        assertEquals(Instant.parse("2026-12-02T12:14:45Z").toEpochMilli(), t.lastSteadyTime());
        assertEquals(0, (t.lastSteadyTime() + I) % window);
        assertEquals(t.lastSteadyTime() - 65 * I, t.start());
        assertTrue(t.describe(0, window).endsWith("which held 55 round(s) of every series before it"), t.describe(0, window));
    }

    @Test
    void alignedToAWindowThatEndedJustInsideTheSlack() {
        long window = 900_000;
        long now = Instant.parse("2026-12-02T12:02:00Z").toEpochMilli();
        Timeline t = Timeline.choose(now, I, 1, 0, 10, 0, window);
        // now - 3 min = 11:59:00, and 11:59:45 is not before it
        assertEquals(Instant.parse("2026-12-02T11:59:45Z").toEpochMilli(), t.lastSteadyTime());
    }

    @Test
    void pacedRoundsAfterTheAlignedSteadyPhaseCountTowardsTheEnd() {
        long window = 900_000;
        long now = Instant.parse("2026-12-02T12:04:00Z").toEpochMilli();
        // without paced rounds 11:59:45 would be before 12:01:00; with 5 paced rounds the end is 12:01:00
        assertEquals(Instant.parse("2026-12-02T12:14:45Z").toEpochMilli(),
                Timeline.choose(now, I, 1, 0, 10, 0, window).lastSteadyTime());
        assertEquals(Instant.parse("2026-12-02T11:59:45Z").toEpochMilli(),
                Timeline.choose(now, I, 1, 0, 10, 5, window).lastSteadyTime());
    }

    @Test
    void sqlPrefillCountsInTheAlignedWindow() {
        long window = 900_000;
        Timeline t = Timeline.choose(NOW, I, 1, 0, 5, 0, window);
        // first pass at 12:13:30, steady from 12:13:45: without a prefill the window held the first pass only;
        // with an hour prefilled by SQL before the first pass, every slot before the steady phase
        assertTrue(t.describe(3_600_000, window).endsWith("which held 55 round(s) of every series before it"));
        assertTrue(t.describe(0, window).endsWith("which held 1 round(s) of every series before it"));
    }

    @Test
    void alignmentMustBeWholeIntervals() {
        assertThrows(IllegalArgumentException.class, () -> Timeline.choose(NOW, I, 1, 0, 5, 0, 10_000));
    }
}
