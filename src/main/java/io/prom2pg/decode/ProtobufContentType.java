package io.prom2pg.decode;

import java.util.Locale;

import io.prom2pg.config.Settings;
import io.prom2pg.failure.UnsupportedMediaTypeException;
import org.apache.camel.Header;

/**
 * Checks the headers of a remote write or remote read request before its body is read:
 * {@code Content-Type: application/x-protobuf} (optionally with {@code ;proto=<message>} naming
 * the endpoint's message) and {@code Content-Encoding: snappy}. Anything else is a 415.
 */
public class ProtobufContentType {

    static final String PROTOBUF = "application/x-protobuf";

    private java.util.List<String> messages = java.util.List.of("prometheus.WriteRequest");
    private String protocol = "remote write 1.0";

    /**
     * The fully qualified protobuf messages the endpoint takes, as in {@code proto=...},
     * comma-separated; the first is the one meant when the header names none.
     */
    public void setMessages(String messages) {
        this.messages = Settings.commaSeparated(messages);
    }

    /** The protocol's name, for error messages. */
    public void setProtocol(String protocol) {
        this.protocol = protocol;
    }

    /** Returns the protobuf message the request carries, or throws {@link UnsupportedMediaTypeException}. */
    public String check(@Header("Content-Type") String contentType, @Header("Content-Encoding") String contentEncoding) {
        if (contentType == null || contentType.isBlank()) {
            throw new UnsupportedMediaTypeException("missing Content-Type: expected " + PROTOBUF);
        }
        String[] parts = contentType.split(";");
        if (!PROTOBUF.equals(parts[0].trim().toLowerCase(Locale.ROOT))) {
            throw new UnsupportedMediaTypeException("unsupported Content-Type '" + oneLine(contentType)
                    + "': expected " + PROTOBUF);
        }
        String message = messages.get(0);
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].trim().split("=", 2);
            if (kv.length == 2 && kv[0].trim().equalsIgnoreCase("proto")) {
                message = kv[1].trim();
                if (!messages.contains(message)) {
                    throw new UnsupportedMediaTypeException("unsupported protobuf message '" + oneLine(message)
                            + "': this endpoint accepts " + String.join(" or ", messages) + " (" + protocol + ")");
                }
            }
        }
        if (contentEncoding != null && !contentEncoding.isBlank()
                && !"snappy".equalsIgnoreCase(contentEncoding.trim())) {
            throw new UnsupportedMediaTypeException("unsupported Content-Encoding '" + oneLine(contentEncoding)
                    + "': expected snappy");
        }
        return message;
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("[\\r\\n]+", " ");
        return t.length() > 100 ? t.substring(0, 100) + "..." : t;
    }
}
