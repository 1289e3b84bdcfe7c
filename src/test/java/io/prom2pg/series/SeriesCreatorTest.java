package io.prom2pg.series;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import io.prom2pg.store.SeriesStore.NewSeries;
import io.prom2pg.store.SeriesStore;
import io.prom2pg.support.MigratedSchema;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Series creation and lookup against a real PostgreSQL. */
class SeriesCreatorTest {

    private MigratedSchema db;

    @BeforeEach
    void migrate() throws Exception {
        db = new MigratedSchema("seriescreator");
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void should_find_existing_series_whether_it_looks_them_up_first_or_inserts_first() {
        List<NewSeries> first = series("up", 0, 100);
        long[] ids = resolve(creator(), first, SeriesCreator.Limits.NONE);
        assertEquals(100, Arrays.stream(ids).distinct().count());
        // a fresh store (a restart) looks up first
        assertArrayEquals(ids, resolve(creator(), first, SeriesCreator.Limits.NONE));
        // a store that has just created series inserts first; existing ones are read back
        SeriesCreator inserting = creator();
        resolve(inserting, series("up", 1000, 100), SeriesCreator.Limits.NONE);
        List<NewSeries> mixed = new ArrayList<>(first.subList(0, 30));
        mixed.addAll(series("up", 2000, 20));
        long[] again = resolve(inserting, mixed, SeriesCreator.Limits.NONE);
        for (int i = 0; i < 30; i++) {
            assertEquals(ids[i], again[i]);
        }
        assertEquals(100 + 100 + 20, rows());
    }

    @Test
    void should_count_only_series_it_created_and_refuse_before_writing() {
        AtomicInteger created = new AtomicInteger();
        List<NewSeries> checked = new ArrayList<>();
        SeriesCreator.Limits counting = new SeriesCreator.Limits() {
            @Override
            public void check(List<NewSeries> series) {
                checked.addAll(series);
                if (series.size() > 60) {
                    throw new IllegalStateException("too many new series: " + series.size());
                }
            }

            @Override
            public void created(List<NewSeries> series) {
                created.addAndGet(series.size());
            }
        };
        resolve(creator(), series("up", 0, 50), counting);
        assertEquals(50, created.get());
        // 50 existing + 30 new: over the limit as a whole, within it for the new ones
        SeriesCreator inserting = creator();
        resolve(inserting, series("up", 500, 10), counting);
        resolve(inserting, series("up", 0, 80), counting);
        assertEquals(50 + 10 + 30, created.get());
        assertThrows(IllegalStateException.class, () -> resolve(creator(), series("up", 1000, 61), counting));
        assertEquals(90, rows(), "nothing of a refused call is written");
    }

    @Test
    void should_give_two_instances_creating_the_same_series_the_same_rows() throws Exception {
        List<NewSeries> series = series("up", 0, 2000);
        SeriesCreator a = creator();
        SeriesCreator b = creator();
        CompletableFuture<long[]> fromA = CompletableFuture.supplyAsync(() -> resolve(a, series, SeriesCreator.Limits.NONE));
        CompletableFuture<long[]> fromB = CompletableFuture.supplyAsync(() -> resolve(b, series, SeriesCreator.Limits.NONE));
        assertArrayEquals(fromA.get(), fromB.get());
        assertEquals(2000, rows());
    }

    private SeriesCreator creator() {
        SeriesStore store = new SeriesStore();
        store.setDataSource(db.dataSource());
        store.setSchema(db.schema());
        SeriesCreator creator = new SeriesCreator();
        creator.setStore(store);
        return creator;
    }

    private static long[] resolve(SeriesCreator creator, List<NewSeries> series, SeriesCreator.Limits limits) {
        creator.setLimits(limits);
        return creator.resolve(series);
    }

    private long rows() {
        try {
            return TestDatabase.queryLong(db.url(), "SELECT count(*) FROM " + db.schema() + ".series");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<NewSeries> series(String metric, int first, int n) {
        List<NewSeries> list = new ArrayList<>();
        for (int i = first; i < first + n; i++) {
            LabelSet ls = LabelSet.of(new String[] {"__name__", "pod"}, new String[] {metric, "pod-" + i});
            list.add(new NewSeries(ls.key(), ls.metricName(), ls.names(), ls.values()));
        }
        return list;
    }
}
