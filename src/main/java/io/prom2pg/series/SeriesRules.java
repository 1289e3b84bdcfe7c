package io.prom2pg.series;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import io.prom2pg.config.ConfigurationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Which series are stored, from a small YAML file of prom2pg's own ({@code routes/config/series-rules.yaml}):
 *
 * <pre>
 * keep:            # if given, a series must match one of these
 *   - metric: "metering:.*"
 * drop:            # a series matching one of these is not stored
 *   - metric: "go_.*"
 *   - labels: {namespace: "kube-.*"}
 * dropLabels: [id, uid]   # left out of every series before it is identified
 * </pre>
 *
 * Metric names and label values are matched by whole-value regular expressions; a missing label
 * matches as the empty string, as in Prometheus. No file, or an empty one, keeps everything.
 */
public class SeriesRules {

    private static final Logger LOG = LoggerFactory.getLogger(SeriesRules.class);

    /** One rule: a metric-name pattern and label patterns, all of which must match. */
    record Rule(Pattern metric, Map<String, Pattern> labels) {
        boolean matches(LabelSet series) {
            if (metric != null && !metric.matcher(series.metricName()).matches()) {
                return false;
            }
            for (Map.Entry<String, Pattern> e : labels.entrySet()) {
                if (!e.getValue().matcher(series.value(e.getKey())).matches()) {
                    return false;
                }
            }
            return true;
        }
    }

    private List<Rule> keep = List.of();
    private List<Rule> drop = List.of();
    private Set<String> dropLabels = Set.of();
    private String source = "no rules file";

    /** Loads the rules from this file, or from the classpath copy when the file does not exist. */
    public void setFile(String file) {
        Path path = Path.of(file);
        try {
            if (Files.isRegularFile(path)) {
                try (InputStream in = Files.newInputStream(path)) {
                    load(in, path.toAbsolutePath().toString());
                }
            } else {
                String resource = "/routes/config/" + path.getFileName();
                try (InputStream in = SeriesRules.class.getResourceAsStream(resource)) {
                    if (in != null) {
                        load(in, "classpath:" + resource);
                    }
                }
            }
        } catch (IOException e) {
            throw new ConfigurationException("series rules " + file + ": " + e.getMessage(), e);
        }
        LOG.info("Series rules from {}: {} keep, {} drop, dropped labels {}", source, keep.size(), drop.size(), dropLabels);
    }

    @SuppressWarnings("unchecked")
    void load(InputStream in, String name) {
        Object doc = new Load(LoadSettings.builder().setLabel(name).build()).loadFromInputStream(in);
        source = name;
        if (doc == null) {
            return;
        }
        if (!(doc instanceof Map<?, ?> map)) {
            throw new ConfigurationException("series rules " + name + ": expected a mapping with keep, drop, dropLabels");
        }
        for (Object key : map.keySet()) {
            if (!Set.of("keep", "drop", "dropLabels").contains(String.valueOf(key))) {
                throw new ConfigurationException("series rules " + name + ": unknown key '" + key
                        + "' (expected keep, drop, dropLabels)");
            }
        }
        keep = rules(map.get("keep"), name, "keep");
        drop = rules(map.get("drop"), name, "drop");
        Set<String> labels = new HashSet<>();
        Object dl = map.get("dropLabels");
        if (dl instanceof List<?> list) {
            list.forEach(l -> labels.add(String.valueOf(l)));
        } else if (dl != null) {
            throw new ConfigurationException("series rules " + name + ": dropLabels must be a list of label names");
        }
        dropLabels = Set.copyOf(labels);
    }

    private static List<Rule> rules(Object value, String name, String key) {
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw new ConfigurationException("series rules " + name + ": " + key + " must be a list of rules");
        }
        List<Rule> rules = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> m)) {
                throw new ConfigurationException("series rules " + name + ": each " + key + " rule is a mapping with metric and/or labels");
            }
            for (Object k : m.keySet()) {
                if (!Set.of("metric", "labels").contains(String.valueOf(k))) {
                    throw new ConfigurationException("series rules " + name + ": " + key + " rule " + (rules.size() + 1)
                            + " " + m + ": unknown key '" + k + "' (expected metric, labels)");
                }
            }
            Pattern metric = m.get("metric") == null ? null : pattern(m.get("metric"), name, key);
            Map<String, Pattern> labels = new LinkedHashMap<>();
            if (m.get("labels") instanceof Map<?, ?> lm) {
                lm.forEach((k, v) -> labels.put(String.valueOf(k), pattern(v, name, key)));
            } else if (m.get("labels") != null) {
                throw new ConfigurationException("series rules " + name + ": labels of a " + key + " rule must be a mapping");
            }
            if (metric == null && labels.isEmpty()) {
                throw new ConfigurationException("series rules " + name + ": a " + key + " rule needs metric or labels");
            }
            rules.add(new Rule(metric, Map.copyOf(labels)));
        }
        return List.copyOf(rules);
    }

    private static Pattern pattern(Object regex, String name, String key) {
        try {
            return Pattern.compile(String.valueOf(regex));
        } catch (PatternSyntaxException e) {
            throw new ConfigurationException("series rules " + name + ": invalid regular expression in " + key + ": "
                    + e.getDescription() + " in '" + regex + "'");
        }
    }

    /** Whether this series is stored. */
    public boolean keeps(LabelSet series) {
        if (!keep.isEmpty() && keep.stream().noneMatch(r -> r.matches(series))) {
            return false;
        }
        return drop.stream().noneMatch(r -> r.matches(series));
    }

    /** Labels left out of every series before it is identified. */
    public Set<String> dropLabels() {
        return dropLabels;
    }
}
