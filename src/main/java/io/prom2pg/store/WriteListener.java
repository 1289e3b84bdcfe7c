package io.prom2pg.store;

/** Told what the writers commit, for prom2pg's own metrics; each call after a commit. */
public interface WriteListener {

    /** A statement committed {@code inserted} new samples of {@code sent} (the others were stored already). */
    void written(int inserted, int sent);

    void metadataWritten(int entries);

    void extrasWritten(int histograms, int exemplars);

    WriteListener NONE = new WriteListener() {
        @Override
        public void written(int inserted, int sent) {
        }

        @Override
        public void metadataWritten(int entries) {
        }

        @Override
        public void extrasWritten(int histograms, int exemplars) {
        }
    };
}
