package io.prom2pg.store;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.prom2pg.decode.InvalidRequestException;
import io.prom2pg.proto.RemoteWriteV1.MetricMetadata;

/** Metric metadata of one request, one entry per metric family (the last one wins), as column arrays. */
public final class MetadataBatch {

    private final String[] names;
    private final String[] types;
    private final String[] helps;
    private final String[] units;

    private MetadataBatch(String[] names, String[] types, String[] helps, String[] units) {
        this.names = names;
        this.types = types;
        this.helps = helps;
        this.units = units;
    }

    public static MetadataBatch of(List<MetricMetadata> metadata) {
        Map<String, MetricMetadata> byName = new LinkedHashMap<>();
        for (MetricMetadata m : metadata) {
            String name = m.getMetricFamilyName();
            if (name.isEmpty()) {
                throw new InvalidRequestException("metadata entry without a metric family name");
            }
            if (hasNul(name) || hasNul(m.getHelp()) || hasNul(m.getUnit())) {
                throw new InvalidRequestException("NUL character in the metadata of metric family '"
                        + name.replace("\0", "\\0") + "'");
            }
            byName.put(name, m);
        }
        int n = byName.size();
        String[] names = new String[n];
        String[] types = new String[n];
        String[] helps = new String[n];
        String[] units = new String[n];
        int i = 0;
        for (MetricMetadata m : byName.values()) {
            names[i] = m.getMetricFamilyName();
            types[i] = typeName(m);
            helps[i] = m.getHelp();
            units[i] = m.getUnit();
            i++;
        }
        return new MetadataBatch(names, types, helps, units);
    }

    private static String typeName(MetricMetadata m) {
        return m.getType() == MetricMetadata.MetricType.UNRECOGNIZED
                ? "unknown"
                : m.getType().name().toLowerCase(Locale.ROOT);
    }

    private static boolean hasNul(String s) {
        return s.indexOf('\0') >= 0;
    }

    public boolean isEmpty() {
        return names.length == 0;
    }

    public int getSize() {
        return names.length;
    }

    public String[] getNames() {
        return names;
    }

    public String[] getTypes() {
        return types;
    }

    public String[] getHelps() {
        return helps;
    }

    public String[] getUnits() {
        return units;
    }
}
