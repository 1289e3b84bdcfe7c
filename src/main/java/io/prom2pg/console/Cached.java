package io.prom2pg.console;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The console's answers kept for {@code prom2pg.console.cache-ms}: a page reloaded, or opened by
 * several people, runs its queries once per period. At most 64 keys (a metric's labels, a month's
 * chargeback are one key each), the least recently used dropped first.
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
    private final Map<K, Object> locks = new java.util.HashMap<>();
    private volatile long maxAgeMillis;

    Cached(long maxAgeMillis) {
        this.maxAgeMillis = maxAgeMillis;
    }

    void maxAge(long millis) {
        this.maxAgeMillis = millis;
    }

    /**
     * The value read at most the period ago, else read now; readers of one key wait for the one
     * that reads it rather than running the same query beside it.
     */
    V get(K key, Function<K, V> read) {
        Object lock;
        synchronized (entries) {
            Entry<V> e = entries.get(key);
            if (e != null && System.currentTimeMillis() - e.readAt() < maxAgeMillis) {
                return e.value();
            }
            lock = locks.computeIfAbsent(key, k -> new Object());
        }
        synchronized (lock) {
            synchronized (entries) {
                Entry<V> e = entries.get(key);
                if (e != null && System.currentTimeMillis() - e.readAt() < maxAgeMillis) {
                    return e.value();
                }
            }
            long readAt = System.currentTimeMillis();
            V value = null;
            try {
                value = read.apply(key);
                return value;
            } finally {
                synchronized (entries) {
                    if (value != null) {
                        entries.put(key, new Entry<>(value, readAt));
                    }
                    locks.remove(key);
                }
            }
        }
    }
}
