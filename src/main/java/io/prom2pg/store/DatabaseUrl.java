package io.prom2pg.store;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.StringJoiner;

import io.prom2pg.config.ConfigurationException;

/**
 * The database URL as a user gives it: a JDBC URL ({@code jdbc:postgresql://host:port/db}) or
 * libpq's form ({@code postgresql://user:password@host:port/db?sslmode=require}, also
 * {@code postgres://}), which is what most PostgreSQL services hand out. The libpq form becomes
 * a JDBC URL; its user and password are used unless {@code prom2pg.db.user} / {@code password}
 * are set. Anything else is a {@link ConfigurationException}.
 *
 * @param jdbcUrl  the URL for the PostgreSQL JDBC driver
 * @param user     the user in the URL, or null
 * @param password the password in the URL, or null
 * @param location {@code host:port/database}, for messages (never the password)
 */
public record DatabaseUrl(String jdbcUrl, String user, String password, String location) {

    private static final String SETTING = ConfigurationException.setting("prom2pg.db.url");
    private static final String EXPECTED = "expected jdbc:postgresql://host:port/database or"
            + " postgresql://user:password@host:port/database";

    /** libpq's connection parameters and the JDBC driver's names for them (the same where not listed). */
    private static final Map<String, String> PARAMETERS = Map.of(
            "application_name", "ApplicationName",
            "connect_timeout", "connectTimeout",
            "target_session_attrs", "targetServerType");

    public static DatabaseUrl parse(String url) {
        String u = url.strip();
        if (u.startsWith("jdbc:postgresql:")) {
            return jdbc(u, url);
        }
        if (u.startsWith("postgresql://") || u.startsWith("postgres://")) {
            return libpq(u.substring(u.indexOf("://") + 3), url);
        }
        throw new ConfigurationException(SETTING + ": '" + redact(url) + "' is not a PostgreSQL URL: " + EXPECTED);
    }

    private static DatabaseUrl jdbc(String u, String given) {
        Properties parsed = org.postgresql.Driver.parseURL(u, null);
        if (parsed == null) {
            throw new ConfigurationException(SETTING + ": '" + redact(given) + "' cannot be parsed: " + EXPECTED);
        }
        String location = parsed.getProperty("PGHOST", "localhost") + ":" + parsed.getProperty("PGPORT", "5432")
                + "/" + parsed.getProperty("PGDBNAME", "");
        return new DatabaseUrl(u, parsed.getProperty("user"), parsed.getProperty("password"), location);
    }

    private static DatabaseUrl libpq(String rest, String given) {
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String database = "";
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            database = decode(rest.substring(slash + 1), given);
            rest = rest.substring(0, slash);
        }
        String user = null;
        String password = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = userInfo.indexOf(':');
            user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon), given);
            password = colon < 0 ? null : decode(userInfo.substring(colon + 1), given);
        }
        String hosts = rest.isEmpty() ? "localhost" : rest;
        for (String host : hosts.split(",")) {
            if (!host.matches("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+)(:\\d{1,5})?")) {
                throw new ConfigurationException(SETTING + ": '" + redact(given) + "' has an invalid host '" + host + "': "
                        + EXPECTED);
            }
        }
        if (database.isEmpty()) {
            database = user != null ? user : "postgres"; // libpq's default: the user's name
        }
        Map<String, String> parameters = new LinkedHashMap<>();
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new ConfigurationException(SETTING + ": '" + redact(given) + "' has a parameter '" + pair
                            + "' that is not name=value");
                }
                String name = decode(pair.substring(0, eq), given);
                String value = decode(pair.substring(eq + 1), given);
                if (name.equals("user")) {
                    user = value;
                } else if (name.equals("password")) {
                    password = value;
                } else if (name.equals("dbname")) {
                    database = value;
                } else {
                    parameters.put(PARAMETERS.getOrDefault(name, name), value);
                }
            }
        }
        StringBuilder jdbc = new StringBuilder("jdbc:postgresql://").append(hosts).append('/')
                .append(java.net.URLEncoder.encode(database, StandardCharsets.UTF_8));
        if (!parameters.isEmpty()) {
            StringJoiner params = new StringJoiner("&", "?", "");
            parameters.forEach((k, v) -> params.add(k + "=" + java.net.URLEncoder.encode(v, StandardCharsets.UTF_8)));
            jdbc.append(params);
        }
        String location = (hosts.contains(",") || hosts.matches(".*:\\d+") ? hosts : hosts + ":5432") + "/" + database;
        return new DatabaseUrl(jdbc.toString(), user, password, location);
    }

    private static String decode(String s, String given) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException(SETTING + ": '" + redact(given) + "' has an invalid %-escape: " + EXPECTED);
        }
    }

    /** The URL with any password replaced by ***. */
    public static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&]*", "$1***").replaceAll("(://[^/@:]*:)[^/@]*@", "$1***@");
    }
}
