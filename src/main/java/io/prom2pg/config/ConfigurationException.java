package io.prom2pg.config;

/**
 * A setting or a configuration file prom2pg cannot use. Its message names the setting (and its
 * environment variable) or the file, the entry and the key; at start-up it stops prom2pg with
 * exit code 2 and that one line.
 */
public class ConfigurationException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public ConfigurationException(String message) {
        super(message);
    }

    public ConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The environment variable that sets a property: {@code prom2pg.db.url -> PROM2PG_DB_URL}. */
    public static String environmentVariable(String property) {
        return property.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** "prom2pg.db.url (PROM2PG_DB_URL)", for messages. */
    public static String setting(String property) {
        return property + " (" + environmentVariable(property) + ")";
    }
}
