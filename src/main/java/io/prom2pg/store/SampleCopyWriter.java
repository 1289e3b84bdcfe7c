package io.prom2pg.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import io.prom2pg.failure.StorageUnavailableException;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * Writes chunks of samples with PostgreSQL's binary {@code COPY}, the fastest way in, straight
 * into the chunk's daily partition, and writes the chunks of concurrent requests together.
 *
 * <p>A request's {@link #write} queues its chunk and waits for it to be committed. A few writer
 * threads ({@link #setWriters}) take the queued chunks of one time window, up to
 * {@link #setChunkSize} samples, and copy them in one statement: one transaction, one commit.
 * PostgreSQL spends about half as much per sample on a few large COPYs as on many small
 * concurrent ones (BENCHMARKS.md), and nothing waits for a timer: a chunk alone is written at
 * once, chunks arriving while the writers are busy are written together next.
 *
 * <p>COPY has no conflict handling: when a sample is already stored the whole COPY fails and
 * nothing of it is written. A group that fails so is copied again chunk by chunk, and the chunk
 * with the stored sample gets {@link DuplicateSamplesException}, which tells {@link SampleWriter} to take
 * the idempotent {@code INSERT ... ON CONFLICT DO NOTHING} path. Any other failure fails every
 * chunk of the group with {@link StorageUnavailableException}; a chunk is acknowledged only
 * after its commit.
 *
 * <p>Values are sent as their 8 raw bytes, so NaN payloads (stale markers) are kept.
 */
public class SampleCopyWriter {

    private static final byte[] HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};
    private static final byte[] TRAILER = {(byte) 0xff, (byte) 0xff};
    private static final int ROW_BYTES = 2 + 3 * (4 + 8);
    /** Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01. */
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
    private static final String UNIQUE_VIOLATION = "23505";

    /** A queued chunk and the answer its request waits for: the rows written, or the failure. */
    private record Pending(SampleChunk chunk, CompletableFuture<Integer> done) {
    }

    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final AtomicLong statements = new AtomicLong();
    private final AtomicInteger writing = new AtomicInteger();
    private DataSource dataSource;
    private String schema = "prom2pg";
    private Partitions partitions;
    private int writers = 2;
    private int chunkSize = 20_000;
    /** Prometheus gives up on a request after 30 s (remote_timeout) and sends it again. */
    private long waitMillis = 30_000;
    private final List<Thread> threads = new ArrayList<>();
    private boolean stopped;

    /** Which partition each window's samples go into (made by the writer before the chunk is queued). */
    public void setPartitions(Partitions partitions) {
        this.partitions = partitions;
    }

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void setSchema(String schema) {
        this.schema = Schema.checkName(schema);
    }

    /** How many COPY statements run at once. */
    public void setWriters(int writers) {
        this.writers = Math.max(1, writers);
    }

    /** The most samples one COPY statement carries (a single larger chunk is still written whole). */
    public void setChunkSize(int chunkSize) {
        this.chunkSize = Math.max(1, chunkSize);
    }

    /** How long a request waits for its chunk before it is answered as a storage failure. */
    public void setWaitMillis(long waitMillis) {
        this.waitMillis = waitMillis;
    }

    /** COPY statements run so far, including the ones that failed. */
    public long statements() {
        return statements.get();
    }

    /** Chunks waiting for a writer. */
    public int queued() {
        return queue.size();
    }

    /** Chunks being written. */
    public int writing() {
        return writing.get();
    }

    /** Writes the chunk, together with other requests' chunks of its window, and returns its number of rows. */
    public int write(SampleChunk chunk) {
        startWriters();
        Pending pending = new Pending(chunk, new CompletableFuture<>());
        queue.add(pending);
        if (stopped && queue.remove(pending)) {
            throw new StorageUnavailableException("prom2pg is shutting down");
        }
        try {
            return pending.done().get(waitMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // an exception of this request's own, with the writer's as its cause
            if (e.getCause() instanceof DuplicateSamplesException d) {
                throw new DuplicateSamplesException(d.getMessage());
            }
            if (e.getCause() instanceof StorageUnavailableException u) {
                throw new StorageUnavailableException(u.getMessage(), u);
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new StorageUnavailableException("copying samples failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            giveUp(pending);
            throw new StorageUnavailableException("copying samples did not finish within " + waitMillis + " ms");
        } catch (InterruptedException e) {
            giveUp(pending);
            Thread.currentThread().interrupt();
            throw new StorageUnavailableException("interrupted while copying samples");
        }
    }

    /** A chunk whose request stopped waiting is not written later, if no writer has it yet. */
    private void giveUp(Pending pending) {
        if (queue.remove(pending)) {
            pending.done().cancel(false);
        }
    }

    /** Writer threads start with the first chunk, not when the bean is created (Camel may create it twice). */
    private synchronized void startWriters() {
        if (stopped) {
            throw new StorageUnavailableException("prom2pg is shutting down");
        }
        if (!threads.isEmpty()) {
            return;
        }
        for (int i = 0; i < writers; i++) {
            Thread t = new Thread(this::writeLoop, "prom2pg-copy-writer-" + i);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    /**
     * Stops the writer threads after their current COPY (waiting up to 10 s for it, so that it
     * ends before the connection pool closes); chunks still queued are failed (they were not
     * acknowledged).
     */
    public synchronized void stop() {
        stopped = true;
        threads.forEach(Thread::interrupt);
        for (Thread t : threads) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        threads.clear();
        StorageUnavailableException down = new StorageUnavailableException("prom2pg is shutting down");
        for (Pending p; (p = queue.poll()) != null; ) {
            p.done().completeExceptionally(down);
        }
    }

    private void writeLoop() {
        while (!Thread.currentThread().isInterrupted()) {
            Pending first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            List<Pending> group = group(first);
            writing.addAndGet(group.size());
            try {
                writeGroup(group);
            } catch (RuntimeException | Error e) {
                group.forEach(p -> p.done().completeExceptionally(e));
            } finally {
                writing.addAndGet(-group.size());
            }
        }
    }

    /** The first chunk and the queued chunks of its window that fit beside it. */
    private List<Pending> group(Pending first) {
        List<Pending> group = new ArrayList<>();
        group.add(first);
        long window = first.chunk().getWindow();
        int samples = first.chunk().getSize();
        for (Iterator<Pending> it = queue.iterator(); it.hasNext() && samples < chunkSize; ) {
            Pending p = it.next();
            // remove(p), not the iterator's remove: it says whether this writer, and not
            // another one scanning the queue at the same time, took the chunk
            if (p.chunk().getWindow() == window && samples + p.chunk().getSize() <= chunkSize && queue.remove(p)) {
                group.add(p);
                samples += p.chunk().getSize();
            }
        }
        return group;
    }

    private void writeGroup(List<Pending> group) {
        try {
            copy(group);
            group.forEach(p -> p.done().complete(p.chunk().getSize()));
            return;
        } catch (DuplicateSamplesException e) {
            if (group.size() == 1) {
                group.get(0).done().completeExceptionally(e);
                return;
            }
        } catch (StorageUnavailableException e) {
            if (group.size() == 1 || !causedByData(e)) {
                group.forEach(p -> p.done().completeExceptionally(e));
                return;
            }
        }
        // one chunk of the group has a sample already stored (a retried request), or a row the
        // statement refused: copy each alone, so that only that chunk's request fails
        for (Pending p : group) {
            try {
                copy(List.of(p));
                p.done().complete(p.chunk().getSize());
            } catch (RuntimeException e) {
                p.done().completeExceptionally(e);
            }
        }
    }

    /**
     * True when the failed statement may have failed for one chunk's rows (a constraint, a
     * deadlock between writers copying the same retried samples), not for the database as a
     * whole: not a lost connection (class 08), a lock or statement timeout, or a shutdown.
     */
    private static boolean causedByData(StorageUnavailableException e) {
        String state = e.getCause() instanceof SQLException sql ? sql.getSQLState() : null;
        if (state == null) {
            return false;
        }
        return !(state.startsWith("08") || state.startsWith("57") || state.equals("55P03"));
    }

    /** One COPY of the chunks (all of one window), committed as one transaction. */
    private void copy(List<Pending> group) {
        List<SampleChunk> chunks = new ArrayList<>(group.size());
        group.forEach(p -> chunks.add(p.chunk()));
        byte[] data = encode(chunks);
        int samples = (data.length - HEADER.length - TRAILER.length) / ROW_BYTES;
        SampleChunk first = chunks.get(0);
        statements.incrementAndGet();
        // known already (the writer ensured it), asked before a connection is taken
        String sql = "COPY " + partitions.table(first.getWindow()) + " (time, series_id, value) FROM STDIN (FORMAT binary)";
        try (Connection c = dataSource.getConnection()) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            CopyIn in = copy.copyIn(sql);
            try {
                in.writeToCopy(data, 0, data.length);
                in.endCopy();
            } finally {
                if (in.isActive()) {
                    in.cancelCopy();
                }
            }
        } catch (SQLException e) {
            if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw new DuplicateSamplesException("chunk of " + samples + " samples has samples already stored");
            }
            throw new StorageUnavailableException("copying samples failed: " + Sql.oneLine(e), e);
        }
    }

    /** The COPY binary format of a chunk: header, one 3-field tuple per sample, trailer. */
    public static byte[] encode(SampleChunk chunk) {
        return encode(List.of(chunk));
    }

    /** The COPY binary format of chunks, one after the other, as one COPY's data. */
    static byte[] encode(List<SampleChunk> chunks) {
        int samples = 0;
        for (SampleChunk chunk : chunks) {
            samples += chunk.getSize();
        }
        byte[] out = new byte[HEADER.length + samples * ROW_BYTES + TRAILER.length];
        System.arraycopy(HEADER, 0, out, 0, HEADER.length);
        int at = HEADER.length;
        for (SampleChunk chunk : chunks) {
            at = encodeRows(chunk, out, at);
        }
        System.arraycopy(TRAILER, 0, out, at, TRAILER.length);
        return out;
    }

    private static int encodeRows(SampleChunk chunk, byte[] out, int at) {
        int n = chunk.getSize();
        long[] times = chunk.getTimes();
        long[] series = chunk.getSeries();
        double[] values = chunk.getValues();
        for (int i = 0; i < n; i++) {
            at = putShort(out, at, (short) 3);
            at = putInt(out, at, 8);
            at = putLong(out, at, times[i] * 1000 - PG_EPOCH_MICROS);
            at = putInt(out, at, 8);
            at = putLong(out, at, series[i]);
            at = putInt(out, at, 8);
            at = putLong(out, at, Double.doubleToRawLongBits(values[i]));
        }
        return at;
    }

    private static int putShort(byte[] b, int at, short v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
        return at + 2;
    }

    private static int putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
        return at + 4;
    }

    private static int putLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
        return at + 8;
    }
}
