package io.prom2pg.views;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import io.prom2pg.config.ConfigurationException;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Views declared in YAML ({@code routes/config/views.yaml}): each has a name, a description, and
 * either SQL or a small template (a metric, labels that become columns, an optional time bucket
 * and aggregation), turned into {@code CREATE OR REPLACE VIEW} statements.
 */
public final class ViewDefinitions {

    private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final List<String> FILE_KEYS = List.of("views", "metering");
    private static final List<String> VIEW_KEYS = List.of("name", "description", "sql", "template");
    private static final List<String> TEMPLATE_KEYS = List.of("metric", "labels", "bucket", "aggregation");
    private static final Set<String> AGGREGATIONS = Set.of("avg", "min", "max", "sum", "count", "last");

    /** One view: its name, description, and the SELECT it stands for. */
    public record View(String name, String description, String select) {
    }

    /** The measures the metering views and rollups compute, each fed by one metric: the defaults. */
    public static final Map<String, String> METERING_DEFAULTS = Map.of(
            "pod_cpu_request", "metering:pod_request_cpu_cores",
            "pod_cpu_usage", "metering:pod_usage_cpu_cores",
            "pod_memory_request", "metering:pod_request_memory_bytes",
            "pod_memory_usage", "metering:pod_usage_memory_bytes",
            "node_cpu_capacity", "metering:node_capacity_cpu_cores",
            "node_cpu_allocatable", "metering:node_allocatable_cpu_cores",
            "node_memory_capacity", "metering:node_capacity_memory_bytes",
            "node_memory_allocatable", "metering:node_allocatable_memory_bytes",
            "pvc_request", "metering:persistentvolumeclaim_request_bytes",
            "pvc_usage", "metering:persistentvolumeclaim_usage_bytes");
    private static final Set<String> MEASURES = METERING_DEFAULTS.keySet();

    /** Every measure's metric: the file's {@code metering:} mapping over the defaults. */
    public static Map<String, String> meteringSources(Path file) {
        Map<String, String> sources = new java.util.TreeMap<>(METERING_DEFAULTS);
        sources.putAll(metering(file));
        return sources;
    }

    /** The file's optional {@code metering:} mapping of measure to metric name. */
    public static Map<String, String> metering(Path file) {
        if (!Files.isRegularFile(file)) {
            return Map.of();
        }
        try (InputStream in = Files.newInputStream(file)) {
            Object doc = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromInputStream(in);
            if (!(doc instanceof Map<?, ?> map) || map.get("metering") == null) {
                return Map.of();
            }
            if (!(map.get("metering") instanceof Map<?, ?> m)) {
                throw new ConfigurationException("views file " + file + ": metering must map measures to metric names");
            }
            Map<String, String> out = new java.util.TreeMap<>();
            m.forEach((k, v) -> {
                if (!MEASURES.contains(String.valueOf(k))) {
                    throw new ConfigurationException("views file " + file + ": unknown metering measure '" + k
                            + "' (one of " + new java.util.TreeSet<>(MEASURES) + ")");
                }
                out.put(String.valueOf(k), String.valueOf(v));
            });
            return out;
        } catch (IOException e) {
            throw new ConfigurationException("views file " + file + ": " + e.getMessage(), e);
        }
    }

    private ViewDefinitions() {
    }

    /** Reads the file; a file that does not exist declares no views. */
    public static List<View> read(Path file, String dataSchema) {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try (InputStream in = Files.newInputStream(file)) {
            return parse(in, file.toString(), dataSchema);
        } catch (IOException e) {
            throw new ConfigurationException("views file " + file + ": " + e.getMessage(), e);
        }
    }

    static List<View> parse(InputStream in, String file, String dataSchema) {
        Object doc = new Load(LoadSettings.builder().setLabel(file).build()).loadFromInputStream(in);
        if (doc == null) {
            return List.of();
        }
        if (doc instanceof Map<?, ?> top) {
            checkKeys(top, FILE_KEYS, "views file " + file);
        }
        if (!(doc instanceof Map<?, ?> map) || !(map.get("views") instanceof List<?> list)) {
            if (doc instanceof Map<?, ?> m && m.get("views") == null) {
                return List.of();
            }
            throw new ConfigurationException("views file " + file + ": expected 'views:' with a list of views");
        }
        List<View> views = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> v)) {
                throw new ConfigurationException("views file " + file + ": each view is a mapping");
            }
            String name = String.valueOf(v.get("name"));
            if (!NAME.matcher(name).matches()) {
                throw new ConfigurationException("views file " + file + ": view name '" + name
                        + "' must be lower-case letters, digits and underscores");
            }
            checkKeys(v, VIEW_KEYS, "views file " + file + ": view " + name);
            if (v.get("template") instanceof Map<?, ?> t) {
                checkKeys(t, TEMPLATE_KEYS, "views file " + file + ": view " + name + ": template");
            }
            if (!names.add(name)) {
                throw new ConfigurationException("views file " + file + ": view " + name + " is declared twice");
            }
            String description = v.get("description") == null ? "" : String.valueOf(v.get("description"));
            String select;
            if (v.get("sql") != null && v.get("template") == null) {
                // ${schema} is prom2pg's data schema (prom2pg.db.schema)
                select = String.valueOf(v.get("sql")).strip().replace("${schema}", dataSchema);
                if (select.endsWith(";")) {
                    select = select.substring(0, select.length() - 1);
                }
            } else if (v.get("template") instanceof Map<?, ?> t && v.get("sql") == null) {
                select = template(t, file, name, dataSchema);
            } else {
                throw new ConfigurationException("views file " + file + ": view " + name + " needs either sql or template");
            }
            views.add(new View(name, description, select));
        }
        return List.copyOf(views);
    }

    /**
     * {@code metric}, {@code labels} (become columns), optional {@code bucket} (an interval such as
     * "1 hour") with {@code aggregation} (avg, min, max, sum, count, last). Values are SQL literals
     * or identifiers built from checked names, never pasted text.
     */
    private static String template(Map<?, ?> t, String file, String view, String schema) {
        Object metric = t.get("metric");
        if (metric == null) {
            throw new ConfigurationException("views file " + file + ": view " + view + ": template needs a metric");
        }
        List<String> labels = new ArrayList<>();
        if (t.get("labels") instanceof List<?> l) {
            for (Object label : l) {
                String s = String.valueOf(label);
                if (!NAME.matcher(s).matches()) {
                    throw new ConfigurationException("views file " + file + ": view " + view + ": label '" + s
                            + "' cannot be a column name");
                }
                labels.add(s);
            }
        }
        StringBuilder columns = new StringBuilder();
        for (String label : labels) {
            columns.append(", labels ->> ").append(literal(label)).append(" AS ").append(label);
        }
        String where = " FROM " + schema + ".metrics WHERE name = " + literal(String.valueOf(metric))
                + " AND float8send(value) <> '\\x7ff0000000000002'::bytea";
        Object bucket = t.get("bucket");
        if (bucket == null) {
            return "SELECT time" + columns + ", value" + where;
        }
        String aggregation = String.valueOf(t.get("aggregation") == null ? "avg" : t.get("aggregation"));
        if (!AGGREGATIONS.contains(aggregation)) {
            throw new ConfigurationException("views file " + file + ": view " + view + ": aggregation must be one of "
                    + AGGREGATIONS);
        }
        String value = aggregation.equals("last") ? "(array_agg(value ORDER BY time DESC))[1]" : aggregation + "(value)";
        StringBuilder group = new StringBuilder("1");
        for (int i = 0; i < labels.size(); i++) {
            group.append(", ").append(i + 2);
        }
        return "SELECT date_bin(CAST(" + literal(String.valueOf(bucket)) + " AS interval), time, timestamptz 'epoch') AS time"
                + columns + ", " + value + " AS value" + where + " GROUP BY " + group;
    }

    /** A key the format does not have is an error, not ignored: a typo would silently change the view. */
    static void checkKeys(Map<?, ?> map, List<String> allowed, String where) {
        for (Object key : map.keySet()) {
            if (!allowed.contains(String.valueOf(key))) {
                throw new ConfigurationException(where + ": unknown key '" + key + "' (expected one of "
                        + String.join(", ", allowed) + ")");
            }
        }
    }

    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
