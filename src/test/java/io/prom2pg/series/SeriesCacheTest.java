package io.prom2pg.series;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class SeriesCacheTest {

    @Test
    void should_return_what_was_put_and_report_misses() {
        SeriesCache cache = new SeriesCache(1000);
        assertEquals(SeriesCache.MISSING, cache.get(42));
        cache.put(42, 7);
        assertEquals(7, cache.get(42));
    }

    @Test
    void should_never_hold_more_than_its_capacity() {
        SeriesCache cache = new SeriesCache(10_000);
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 200_000; i++) {
            cache.put(random.nextLong(), i);
            assertTrue(cache.size() <= 10_000, "size " + cache.size());
        }
    }

    @Test
    void should_keep_active_series_while_fewer_than_half_its_capacity_come_and_go() {
        SeriesCache cache = new SeriesCache(10_000);
        long[] active = new SplittableRandom(2).longs(3_000).toArray();
        SplittableRandom churn = new SplittableRandom(3);
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < active.length; i++) {
                if (cache.get(active[i]) == SeriesCache.MISSING) {
                    assertEquals(0, round, "active series " + i + " evicted in round " + round);
                    cache.put(active[i], i);
                }
            }
            for (int i = 0; i < 1_000; i++) {
                cache.put(churn.nextLong(), -2);
            }
        }
        for (int i = 0; i < active.length; i++) {
            assertEquals(i, cache.get(active[i]));
        }
    }
}
