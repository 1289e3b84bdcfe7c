package io.prom2pg.read;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The matching statement and the indexes it is written for. */
class SeriesMatchTest {

    @Test
    void should_state_the_predicates_of_the_series_match_indexes_word_for_word() throws Exception {
        // PostgreSQL uses a partial index only when it can prove the statement implies its predicate:
        // a predicate changed on one side only leaves remote read scanning the heap, with no error
        try (InputStream in = SeriesMatch.class.getResourceAsStream("/db/migration/V15__series_match_index.sql")) {
            assertNotNull(in, "V15 on the class path");
            String migration = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(migration.contains("INCLUDE (id, labels)\n    WHERE " + SeriesMatch.INDEXED + ";"), SeriesMatch.INDEXED);
            assertTrue(migration.contains("series_match_large_idx ON ${schema}.series (metric_name)\n    WHERE "
                    + SeriesMatch.NOT_INDEXED + ";"), SeriesMatch.NOT_INDEXED);
        }
    }
}
