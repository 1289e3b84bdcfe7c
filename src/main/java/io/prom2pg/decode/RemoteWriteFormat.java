package io.prom2pg.decode;

/**
 * A remote write request body into a {@link DecodedWrite}: remote write 1.0
 * ({@code prometheus.WriteRequest}, the default) or 2.0 ({@code io.prometheus.write.v2.Request}),
 * as its Content-Type says.
 */
public class RemoteWriteFormat extends RequestDataFormat {

    public static final String V1 = "prometheus.WriteRequest";
    public static final String V2 = "io.prometheus.write.v2.Request";

    public RemoteWriteFormat() {
        super(V1 + "," + V2, "remote write 1.0 and 2.0");
    }

    @Override
    public String getDataFormatName() {
        return "remoteWrite";
    }

    @Override
    protected DecodedWrite decode(String message, byte[] body) {
        return V2.equals(message) ? RemoteWriteV2Reader.read(body) : RemoteWriteV1Reader.read(body);
    }

    /** Whether a request's Content-Type names remote write 2.0, whatever else is wrong with it. */
    public static boolean isRemoteWrite2(String contentType) {
        return contentType != null && contentType.contains(V2);
    }
}
