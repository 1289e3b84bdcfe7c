package io.prom2pg.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

import io.prom2pg.failure.InvalidRequestException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * A GET endpoint's query parameters as headers, each percent-decoded once from the raw query
 * ({@code match=up%7Bjob%3D%22x%22%2C%20a%3D%221%22%7D} is {@code up{job="x", a="1"}}).
 * netty-http leaves {@code %XX} in the values it sets and splits a raw value on commas; its
 * urlDecodeHeaders option would decode the request's own headers too (a Basic credential with
 * {@code +} in its base64 would no longer match), so the query is decoded here instead.
 */
public class QueryParameters {

    /** Replaces the headers the query names with their decoded values (the last one of a name wins). */
    public void decode(Exchange exchange) {
        Message m = exchange.getMessage();
        String raw = m.getHeader(Exchange.HTTP_RAW_QUERY, String.class);
        if (raw == null || raw.isEmpty()) {
            return;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = decoded(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decoded(pair.substring(eq + 1));
            m.setHeader(name, value);
        }
    }

    private static String decoded(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("the query is not percent-encoded correctly near '"
                    + s.replaceAll("[^\\x20-\\x7e]", "?") + "'");
        }
    }
}
