package io.prom2pg.decode;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteRead.ReadRequest;

/** A remote read request body into its {@code prometheus.ReadRequest}. */
public class RemoteReadFormat extends RequestDataFormat {

    public RemoteReadFormat() {
        super("prometheus.ReadRequest", "remote read");
    }

    @Override
    public String getDataFormatName() {
        return "remoteRead";
    }

    @Override
    protected ReadRequest decode(String message, byte[] body) {
        try {
            return ReadRequest.parseFrom(body);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new InvalidRequestException("body is not a remote read protobuf message: " + e.getMessage());
        }
    }
}
