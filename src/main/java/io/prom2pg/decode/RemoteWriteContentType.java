package io.prom2pg.decode;

import java.util.Locale;

import org.apache.camel.Header;

/**
 * Checks the headers of a remote write request before its body is read: remote write 1.0 sends
 * {@code Content-Type: application/x-protobuf} (optionally {@code ;proto=prometheus.WriteRequest})
 * and {@code Content-Encoding: snappy}. Anything else is a 415.
 */
public class RemoteWriteContentType {

    static final String PROTOBUF = "application/x-protobuf";
    static final String V1_MESSAGE = "prometheus.WriteRequest";

    public void check(@Header("Content-Type") String contentType, @Header("Content-Encoding") String contentEncoding) {
        if (contentType == null || contentType.isBlank()) {
            throw new UnsupportedMediaTypeException("missing Content-Type: expected " + PROTOBUF);
        }
        String[] parts = contentType.split(";");
        if (!PROTOBUF.equals(parts[0].trim().toLowerCase(Locale.ROOT))) {
            throw new UnsupportedMediaTypeException("unsupported Content-Type '" + oneLine(contentType)
                    + "': expected " + PROTOBUF);
        }
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].trim().split("=", 2);
            if (kv.length == 2 && kv[0].trim().equalsIgnoreCase("proto") && !V1_MESSAGE.equals(kv[1].trim())) {
                throw new UnsupportedMediaTypeException("unsupported protobuf message '" + oneLine(kv[1].trim())
                        + "': this endpoint accepts " + V1_MESSAGE + " (remote write 1.0)");
            }
        }
        if (contentEncoding != null && !contentEncoding.isBlank()
                && !"snappy".equalsIgnoreCase(contentEncoding.trim())) {
            throw new UnsupportedMediaTypeException("unsupported Content-Encoding '" + oneLine(contentEncoding)
                    + "': expected snappy");
        }
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("[\\r\\n]+", " ");
        return t.length() > 100 ? t.substring(0, 100) + "..." : t;
    }
}
