package io.prom2pg.series;

import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;

/**
 * A bounded map from a series' 64-bit cache key to its database id, in primitive arrays
 * (about 16 bytes an entry, no objects per series).
 *
 * <p>Bounded by entries. Each of a fixed number of lock-striped segments keeps two
 * generations: lookups look in the current one, then in the previous one (promoting the
 * entry); when the current generation is full it becomes the previous one and the old
 * previous one is dropped. A series stays cached as long as fewer than about capacity/2 other
 * series are added between two of its writes; so with a capacity of N entries, N/2 active
 * series (those written every scrape) are held without misses, however many series come and go
 * beside them in smaller numbers. Series not seen for two generations are forgotten and looked
 * up again in PostgreSQL on their next sample.
 */
public final class SeriesCache {

    public static final long MISSING = -1L;
    private static final int SEGMENTS = 16;

    private final Segment[] segments = new Segment[SEGMENTS];
    private final long capacity;

    public SeriesCache(long capacity) {
        if (capacity < 2L * SEGMENTS) {
            throw new IllegalArgumentException("series cache capacity must be at least " + (2 * SEGMENTS));
        }
        this.capacity = capacity;
        int perGeneration = (int) Math.min(Integer.MAX_VALUE / 2, capacity / (2L * SEGMENTS));
        for (int i = 0; i < SEGMENTS; i++) {
            segments[i] = new Segment(perGeneration);
        }
    }

    /** The id cached for this key, or {@link #MISSING}. */
    public long get(long key) {
        return segment(key).get(key);
    }

    public void put(long key, long id) {
        segment(key).put(key, id);
    }

    public long capacity() {
        return capacity;
    }

    /** Entries currently held, both generations. */
    public long size() {
        long size = 0;
        for (Segment segment : segments) {
            size += segment.size();
        }
        return size;
    }

    public void clear() {
        for (Segment segment : segments) {
            segment.clear();
        }
    }

    private Segment segment(long key) {
        // the key is already a good hash; use bits the hash maps do not use first
        return segments[(int) (key >>> 60) & (SEGMENTS - 1)];
    }

    private static final class Segment {
        private final int maxPerGeneration;
        private Long2LongOpenHashMap current;
        private Long2LongOpenHashMap previous;

        Segment(int maxPerGeneration) {
            this.maxPerGeneration = maxPerGeneration;
            this.current = newMap();
            this.previous = newMap();
        }

        private static Long2LongOpenHashMap newMap() {
            Long2LongOpenHashMap map = new Long2LongOpenHashMap();
            map.defaultReturnValue(MISSING);
            return map;
        }

        synchronized long get(long key) {
            long id = current.get(key);
            if (id != MISSING) {
                return id;
            }
            id = previous.remove(key);
            if (id != MISSING) {
                insert(key, id);
            }
            return id;
        }

        synchronized void put(long key, long id) {
            if (current.containsKey(key)) {
                current.put(key, id);
                return;
            }
            previous.remove(key);
            insert(key, id);
        }

        private void insert(long key, long id) {
            if (current.size() >= maxPerGeneration) {
                previous = current;
                current = newMap();
            }
            current.put(key, id);
        }

        synchronized long size() {
            return (long) current.size() + previous.size();
        }

        synchronized void clear() {
            current = newMap();
            previous = newMap();
        }
    }
}
