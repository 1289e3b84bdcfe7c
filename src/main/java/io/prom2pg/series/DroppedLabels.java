package io.prom2pg.series;

import java.util.LinkedHashSet;
import java.util.Set;

import io.prom2pg.config.Settings;

/**
 * The labels left out of every stored series' identity, from one place: the configured ones
 * ({@code prom2pg.series.dropped-labels}), the series rules' {@code dropLabels}, and, while HA
 * election is on, the replica labels (so that both replicas of a pair write one series).
 */
public class DroppedLabels {

    private Set<String> configured = Set.of();
    private Set<String> replicas = Set.of();
    private boolean haEnabled = true;
    private SeriesRules rules;

    /** Label names, comma-separated. */
    public void setLabels(String names) {
        this.configured = Set.copyOf(Settings.commaSeparated(names));
    }

    /** The HA replica label names, comma-separated; dropped while {@link #setHaEnabled} is on. */
    public void setHaReplicaLabels(String names) {
        this.replicas = Set.copyOf(Settings.commaSeparated(names));
    }

    public void setHaEnabled(boolean haEnabled) {
        this.haEnabled = haEnabled;
    }

    public void setRules(SeriesRules rules) {
        this.rules = rules;
    }

    /** All of them. */
    public Set<String> names() {
        Set<String> all = new LinkedHashSet<>(configured);
        if (haEnabled) {
            all.addAll(replicas);
        }
        if (rules != null) {
            all.addAll(rules.dropLabels());
        }
        return Set.copyOf(all);
    }
}
