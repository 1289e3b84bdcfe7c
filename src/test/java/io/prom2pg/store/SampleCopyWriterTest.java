package io.prom2pg.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import io.prom2pg.failure.StorageUnavailableException;
import io.prom2pg.support.MigratedSchema;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The COPY writer against a real PostgreSQL: chunks of concurrent requests are written together,
 * each request learns the fate of its own chunk, and nothing is acknowledged before its commit.
 */
class SampleCopyWriterTest {

    @BeforeAll
    static void plainLayout() {
        TestDatabase.assumeDayPartitions();
    }

    private static final long WINDOW = 1_920_000; // 2024-10-04 00:00 UTC, as 15-minute windows since the epoch

    private final ExecutorService senders = Executors.newCachedThreadPool();
    private MigratedSchema db;
    private String url;
    private String schema;
    private SampleCopyWriter writer;
    private Partitions partitions;

    @BeforeEach
    void migrate_the_schema() throws Exception {
        db = new MigratedSchema("copywriter");
        url = db.url();
        schema = db.schema();
        Partitions partitions = new Partitions();
        partitions.setDataSource(db.dataSource());
        partitions.setSchema(schema);
        partitions.ensure(new SampleChunk(WINDOW, 1));
        this.partitions = partitions;
        writer = new SampleCopyWriter();
        writer.setPartitions(partitions);
        writer.setDataSource(db.dataSource());
        writer.setSchema(schema);
        writer.setWriters(1);
        writer.setChunkSize(10_000);
    }

    @AfterEach
    void close() {
        senders.shutdownNow();
        writer.stop();
        db.close();
    }

    /** Locks the window's partition against writes until the connection's transaction ends. */
    private Connection lockPartition() throws Exception {
        Connection c = TestDatabase.connect(url);
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("LOCK TABLE " + partitions.table(WINDOW) + " IN SHARE MODE");
        }
        return c;
    }

    private void awaitStatements(long n) throws InterruptedException {
        await(writer::statements, n, "COPY statements started");
    }

    /** Waits until all requests are in the writer: in its queue or in the COPY it is blocked on. */
    private void awaitQueuedAndWaiting(int requests) throws InterruptedException {
        await(() -> writer.queued() + writer.writing(), requests, "chunks queued or being written");
    }

    private void awaitQueued(int n) throws InterruptedException {
        await(writer::queued, n, "chunks waiting in the queue");
    }

    /** Waits up to 30 s for {@code actual} to reach {@code expected}, then asserts it did. */
    private static void await(LongSupplier actual, long expected, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (actual.getAsLong() != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(expected, actual.getAsLong(), what);
    }

    /**
     * Sends {@code odd} between two chunks of 10 samples while the writer is blocked on a third,
     * so that the three queued ones are copied in one group; checks that the other three chunks
     * are stored and returns the answer to {@code odd}.
     *
     * @param statementsBefore COPY statements the test ran before this
     */
    private CompletableFuture<Integer> copiedInAGroupOfThree(SampleChunk odd, long statementsBefore) throws Exception {
        List<CompletableFuture<Integer>> answers = new ArrayList<>();
        CompletableFuture<Integer> oddAnswer;
        try (Connection lock = lockPartition()) {
            answers.add(CompletableFuture.supplyAsync(() -> writer.write(chunk(50_000, 10)), senders));
            awaitStatements(statementsBefore + 1); // blocked
            answers.add(CompletableFuture.supplyAsync(() -> writer.write(chunk(100, 10)), senders));
            oddAnswer = CompletableFuture.supplyAsync(() -> writer.write(odd), senders);
            answers.add(CompletableFuture.supplyAsync(() -> writer.write(chunk(200, 10)), senders));
            awaitQueued(3);
            lock.rollback();
        }
        for (CompletableFuture<Integer> a : answers) {
            assertEquals(10, a.get(60, TimeUnit.SECONDS));
        }
        return oddAnswer;
    }

    @Test
    void should_write_the_chunks_of_concurrent_requests_in_fewer_statements() throws Exception {
        List<CompletableFuture<Integer>> answers = new ArrayList<>();
        try (Connection lock = lockPartition()) {
            for (int r = 0; r < 40; r++) {
                SampleChunk chunk = chunk(r * 1000L, 100);
                answers.add(CompletableFuture.supplyAsync(() -> writer.write(chunk), senders));
            }
            // the writer is blocked on its first COPY (with the chunks queued by then); the others wait
            awaitStatements(1);
            awaitQueuedAndWaiting(answers.size());
            lock.rollback();
        }
        for (CompletableFuture<Integer> a : answers) {
            assertEquals(100, a.get(60, TimeUnit.SECONDS));
        }
        assertEquals(4000, stored());
        // the blocked COPY (with whatever was queued when it began), then all the others in one
        assertTrue(writer.statements() <= 2, "40 chunks took " + writer.statements() + " COPY statements");
    }

    @Test
    void should_fail_only_the_chunk_whose_samples_are_already_stored() throws Exception {
        writer.write(chunk(0, 10)); // series 0..9 at the chunk's time: stored
        CompletableFuture<Integer> duplicate = copiedInAGroupOfThree(chunk(0, 10), 1);
        ExecutionException e = assertThrows(ExecutionException.class, () -> duplicate.get(60, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof DuplicateSamplesException, "got " + e.getCause());
        assertEquals(40, stored());
        // first, blocked, then the group of three that failed, then each of the three alone
        assertEquals(1 + 1 + 1 + 3, writer.statements());
    }

    @Test
    void should_fail_only_the_chunk_whose_rows_the_partition_refuses() throws Exception {
        SampleChunk outside = new SampleChunk(WINDOW, 1);
        outside.add((WINDOW + 1) * SampleChunk.WINDOW_MILLIS, 7, 1.0); // a time of the next window
        CompletableFuture<Integer> refused = copiedInAGroupOfThree(outside, 0);
        ExecutionException e = assertThrows(ExecutionException.class, () -> refused.get(60, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof StorageUnavailableException, "got " + e.getCause());
        assertEquals(30, stored());
    }

    @Test
    void should_not_write_a_chunk_whose_request_stopped_waiting() throws Exception {
        writer.setWaitMillis(300);
        CompletableFuture<Integer> first;
        try (Connection lock = lockPartition()) {
            first = CompletableFuture.supplyAsync(() -> writer.write(chunk(0, 10)), senders);
            awaitStatements(1); // the writer is blocked on it
            StorageUnavailableException e = assertThrows(StorageUnavailableException.class,
                    () -> writer.write(chunk(100, 10)));
            assertTrue(e.getMessage().contains("did not finish within 300 ms"), e.getMessage());
            assertEquals(0, writer.queued(), "the chunk left the queue with its request");
            lock.rollback();
        }
        // the first request timed out too, but its chunk was being written: that one is stored
        // (its sender retries, and the retry takes the idempotent path)
        assertThrows(ExecutionException.class, () -> first.get(60, TimeUnit.SECONDS));
        await(this::stored, 10, "samples stored");
        assertEquals(1, writer.statements());
    }

    @Test
    void should_answer_storage_unavailable_when_the_partition_is_missing() throws Exception {
        SampleChunk elsewhere = new SampleChunk(WINDOW + 400, 1);
        elsewhere.add((WINDOW + 400) * SampleChunk.WINDOW_MILLIS, 1, 1.0);
        // made, then dropped behind the writer's back (as a seal by another instance does)
        try (Connection c = TestDatabase.connect(url); Statement st = c.createStatement()) {
            st.execute("DROP TABLE " + partitions.table(WINDOW + 400));
        }
        StorageUnavailableException e = assertThrows(StorageUnavailableException.class, () -> writer.write(elsewhere));
        assertTrue(e.getMessage().contains("copying samples failed"), e.getMessage());
    }

    @Test
    void should_refuse_chunks_after_it_is_stopped() throws Exception {
        writer.write(chunk(0, 1));
        writer.stop();
        assertThrows(StorageUnavailableException.class, () -> writer.write(chunk(1, 1)));
        assertEquals(1, stored());
    }

    /** {@code n} samples of series {@code firstSeries..}, one per series, at the window's start. */
    private static SampleChunk chunk(long firstSeries, int n) {
        SampleChunk chunk = new SampleChunk(WINDOW, n);
        for (int i = 0; i < n; i++) {
            chunk.add(WINDOW * SampleChunk.WINDOW_MILLIS, firstSeries + i, i);
        }
        return chunk;
    }

    private long stored() {
        try {
            return TestDatabase.queryLong(url, "SELECT count(*) FROM " + schema + ".samples");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
