package io.prom2pg.console;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The console's answers kept for {@code prom2pg.console.cache-ms}: a page reloaded, or opened by
 * several people, runs its queries once per period. At most 64 keys (a metric's labels are one key
 * each), the least recently used dropped first.
 */
final class Cached<K, V> {

    private record Entry<V>(V value, long readAt) {
    }

    private final Map<K, Entry<V>> entries = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<K, Entry<V>> eldest) {
            return size() > 64;
        }
    };
    private volatile long maxAgeMillis;

    Cached(long maxAgeMillis) {
        this.maxAgeMillis = maxAgeMillis;
    }

    void maxAge(long millis) {
        this.maxAgeMillis = millis;
    }

    /** The value read at most the period ago, else read now (outside the lock: two readers may both read). */
    V get(K key, Function<K, V> read) {
        long now = System.currentTimeMillis();
        synchronized (entries) {
            Entry<V> e = entries.get(key);
            if (e != null && now - e.readAt() < maxAgeMillis) {
                return e.value();
            }
        }
        V value = read.apply(key);
        synchronized (entries) {
            entries.put(key, new Entry<>(value, now));
        }
        return value;
    }
}
