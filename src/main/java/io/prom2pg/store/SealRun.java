package io.prom2pg.store;

/** What one run of the sealer did: the windows (or TimescaleDB chunks) it sealed and the head samples it moved into blocks. */
public record SealRun(int windows, long samples) {

    public static final SealRun NONE = new SealRun(0, 0);
}
