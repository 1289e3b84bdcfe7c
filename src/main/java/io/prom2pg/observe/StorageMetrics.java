package io.prom2pg.observe;

import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prom2pg.store.SealRun;
import io.prom2pg.store.StorageSizes;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.OnCamelContextStarted;

/**
 * The storage tiers as self-metrics: samples sealed, runs and failures of the sealing route (as
 * {@link MaintenanceRuns} counts them), the bytes of each tier and how long ago the oldest window
 * still in the head ended. The sizes are read by the storage-size route (once a minute by
 * default), not at each scrape; before its first run they are NaN.
 */
public class StorageMetrics implements OnCamelContextStarted {

    private final AtomicLong sealedSamples = new AtomicLong();
    private StorageSizes storageSizes;
    private MaintenanceRuns maintenanceRuns;
    private String sealRoute = "storage-sealing";
    /** The sizes last read; null before the first read. */
    private volatile StorageSizes.Sizes sizes;

    public void setStorageSizes(StorageSizes storageSizes) {
        this.storageSizes = storageSizes;
    }

    public void setMaintenanceRuns(MaintenanceRuns maintenanceRuns) {
        this.maintenanceRuns = maintenanceRuns;
    }

    /** The id of the route that seals (its runs and failures are the seal runs and failures). */
    public void setSealRoute(String sealRoute) {
        this.sealRoute = sealRoute;
    }

    @Override
    public void onContextStarted(CamelContext context) {
        MeterRegistry found = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        MeterRegistry registry = found != null ? found : new SimpleMeterRegistry();
        FunctionCounter.builder("prom2pg.storage.sealed.samples", sealedSamples, AtomicLong::get)
                .description("Samples moved from the head into sealed blocks").register(registry);
        FunctionCounter.builder("prom2pg.storage.seal.runs", this, m -> m.maintenanceRuns.runs(m.sealRoute))
                .description("Runs of the sealing route, failed ones included").register(registry);
        FunctionCounter.builder("prom2pg.storage.seal.failures", this, m -> m.maintenanceRuns.failures(m.sealRoute))
                .description("Runs of the sealing route that failed").register(registry);
        Gauge.builder("prom2pg.storage.bytes", this, m -> m.sizes != null ? m.sizes.headBytes() : Double.NaN).tag("tier", "head")
                .description("Bytes on disk of a storage tier, indexes and TOAST included (read once a minute)").register(registry);
        Gauge.builder("prom2pg.storage.bytes", this, m -> m.sizes != null ? m.sizes.sealedBytes() : Double.NaN).tag("tier", "sealed")
                .description("Bytes on disk of a storage tier, indexes and TOAST included (read once a minute)").register(registry);
        Gauge.builder("prom2pg.storage.oldest.unsealed.age.seconds", this, StorageMetrics::oldestUnsealedAge)
                .description("Seconds since the oldest window still in the head ended (0: it has not); past"
                        + " prom2pg.storage.seal-after-ms, sealing is behind").register(registry);
    }

    /** A run of the sealer completed. */
    public void sealed(SealRun run) {
        sealedSamples.addAndGet(run.samples());
    }

    /** Reads the sizes again (the storage-size route). */
    public void refresh() {
        sizes = storageSizes.read();
    }

    /** The sizes last read (null before the first read). */
    public StorageSizes.Sizes sizes() {
        return sizes;
    }

    /** Seconds since the oldest window still in the head ended; NaN before the first read. */
    public double oldestUnsealedAge() {
        StorageSizes.Sizes read = sizes;
        if (read == null) {
            return Double.NaN;
        }
        if (read.oldestUnsealedEnd() == null) {
            return 0;
        }
        return Math.max(0, System.currentTimeMillis() - read.oldestUnsealedEnd().toEpochMilli()) / 1000.0;
    }
}
