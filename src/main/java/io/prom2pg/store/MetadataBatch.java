package io.prom2pg.store;

/** Metric metadata of one request, one entry per metric family, as column arrays. */
public final class MetadataBatch {

    private final String[] names;
    private final String[] types;
    private final String[] helps;
    private final String[] units;

    /** No metadata. */
    public static final MetadataBatch EMPTY = new MetadataBatch(new String[0], new String[0], new String[0], new String[0]);

    /** One entry per metric family: name, type (counter, gauge, ...), help and unit, by position. */
    public MetadataBatch(String[] names, String[] types, String[] helps, String[] units) {
        this.names = names;
        this.types = types;
        this.helps = helps;
        this.units = units;
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
