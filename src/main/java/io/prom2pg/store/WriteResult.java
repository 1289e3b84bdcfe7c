package io.prom2pg.store;

/**
 * What a remote write request is acknowledged with: its samples, native histograms and exemplars
 * taken (stored, already stored, or stood for by an HA leader's copy), the numbers the remote
 * write 2.0 answer headers carry.
 */
public record WriteResult(int samples, int histograms, int exemplars) {

    /** Nothing taken: the answer of a refused request. */
    public static final WriteResult NONE = new WriteResult(0, 0, 0);
}
