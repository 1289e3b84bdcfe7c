package io.prom2pg.store;

import java.util.regex.Pattern;

/** The database schema prom2pg owns; its name is configuration and is put into SQL text, so it is checked. */
public final class Schema {

    private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private Schema() {
    }

    public static String checkName(String schema) {
        if (schema == null || !NAME.matcher(schema).matches()) {
            throw new IllegalArgumentException("invalid schema name '" + schema
                    + "': use lower-case letters, digits and underscores (prom2pg.db.schema)");
        }
        return schema;
    }
}
