package io.prom2pg.series;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteWriteV1.Label;
import org.apache.commons.codec.digest.MurmurHash3;

/**
 * One series' identity: its labels in canonical order (sorted by name, empty values dropped, as
 * Prometheus treats an empty value as an absent label) and a 128-bit key over that order.
 * Construction enforces the remote write contract: a non-empty {@code __name__}, no empty or
 * repeated names, no NUL characters (PostgreSQL text cannot hold them).
 */
public final class LabelSet {

    public static final String METRIC_NAME = "__name__";
    private static final byte SEPARATOR = (byte) 0xff; // never part of valid UTF-8

    private final String metricName;
    private final String[] names;   // without __name__
    private final String[] values;
    private final long keyHigh;
    private final long keyLow;

    private LabelSet(String metricName, String[] names, String[] values, long keyHigh, long keyLow) {
        this.metricName = metricName;
        this.names = names;
        this.values = values;
        this.keyHigh = keyHigh;
        this.keyLow = keyLow;
    }

    /** Canonicalises and validates the labels of one remote write TimeSeries. */
    public static LabelSet of(List<Label> labels) {
        String[] names = new String[labels.size()];
        String[] values = new String[labels.size()];
        for (int i = 0; i < names.length; i++) {
            names[i] = labels.get(i).getName();
            values[i] = labels.get(i).getValue();
        }
        return of(names, values);
    }

    /** Canonicalises and validates labels given as parallel arrays of names and values. */
    public static LabelSet of(String[] labelNames, String[] labelValues) {
        return of(labelNames, labelValues, java.util.Set.of());
    }

    /**
     * As {@link #of(String[], String[])}, leaving out the labels named in {@code dropped} (an HA
     * replica label, say) so that series differing only in them are one series.
     */
    public static LabelSet of(String[] labelNames, String[] labelValues, java.util.Set<String> dropped) {
        int n = labelNames.length;
        if (n == 0) {
            throw new InvalidRequestException("series without labels");
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (!isSorted(labelNames)) {
            Arrays.sort(order, Comparator.comparing(i -> labelNames[i]));
        }
        String metricName = null;
        List<String> names = new ArrayList<>(n);
        List<String> values = new ArrayList<>(n);
        String previous = null;
        for (int k = 0; k < n; k++) {
            String name = labelNames[order[k]];
            String value = labelValues[order[k]];
            if (name.isEmpty()) {
                throw new InvalidRequestException("label with an empty name in series " + describe(labelNames, labelValues));
            }
            if (name.equals(previous)) {
                throw new InvalidRequestException("repeated label name '" + printable(name) + "' in series "
                        + describe(labelNames, labelValues));
            }
            previous = name;
            if (name.indexOf('\0') >= 0 || value.indexOf('\0') >= 0) {
                throw new InvalidRequestException("NUL character in label '" + printable(name) + "' of series "
                        + describe(labelNames, labelValues));
            }
            if (METRIC_NAME.equals(name)) {
                metricName = value;
            } else if (!value.isEmpty() && !dropped.contains(name)) {
                names.add(name);
                values.add(value);
            }
        }
        if (metricName == null || metricName.isEmpty()) {
            throw new InvalidRequestException("series without a metric name (__name__): " + describe(labelNames, labelValues));
        }
        String[] nm = names.toArray(new String[0]);
        String[] v = values.toArray(new String[0]);
        long[] key = hash(metricName, nm, v);
        return new LabelSet(metricName, nm, v, key[0], key[1]);
    }

    private static boolean isSorted(String[] names) {
        for (int i = 1; i < names.length; i++) {
            if (names[i - 1].compareTo(names[i]) > 0) {
                return false;
            }
        }
        return true;
    }

    private static long[] hash(String metricName, String[] names, String[] values) {
        int size = 0;
        byte[][] parts = new byte[2 + 2 * names.length][];
        parts[0] = METRIC_NAME.getBytes(StandardCharsets.UTF_8);
        parts[1] = metricName.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < names.length; i++) {
            parts[2 + 2 * i] = names[i].getBytes(StandardCharsets.UTF_8);
            parts[3 + 2 * i] = values[i].getBytes(StandardCharsets.UTF_8);
        }
        for (byte[] part : parts) {
            size += part.length + 1;
        }
        byte[] buffer = new byte[size];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, buffer, at, part.length);
            at += part.length;
            buffer[at++] = SEPARATOR;
        }
        return MurmurHash3.hash128x64(buffer, 0, buffer.length, 0);
    }

    public String metricName() {
        return metricName;
    }

    /** Label names other than {@code __name__}, sorted. */
    public String[] names() {
        return names;
    }

    public String[] values() {
        return values;
    }

    /** The value of a label, "" when the series does not have it (as in Prometheus). */
    public String value(String name) {
        if (METRIC_NAME.equals(name)) {
            return metricName;
        }
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return values[i];
            }
        }
        return "";
    }

    /** The full 128-bit key, unique per series in the database. */
    public byte[] key() {
        byte[] key = new byte[16];
        for (int i = 0; i < 8; i++) {
            key[i] = (byte) (keyHigh >>> (56 - 8 * i));
            key[8 + i] = (byte) (keyLow >>> (56 - 8 * i));
        }
        return key;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(metricName).append('{');
        for (int i = 0; i < names.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(names[i]).append("=\"").append(values[i]).append('"');
        }
        return sb.append('}').toString();
    }

    private static String describe(String[] names, String[] values) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < names.length && sb.length() < 200; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(printable(names[i])).append("=\"").append(printable(values[i])).append('"');
        }
        if (sb.length() >= 200) {
            sb.setLength(200);
            sb.append("...");
        }
        return sb.append('}').toString();
    }

    private static String printable(String s) {
        String shortened = s.length() > 100 ? s.substring(0, 100) + "..." : s;
        return shortened.replace("\0", "\\0").replaceAll("[\\r\\n]", " ");
    }
}
