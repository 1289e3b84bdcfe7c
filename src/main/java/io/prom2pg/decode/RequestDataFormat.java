package io.prom2pg.decode;

import java.io.InputStream;
import java.io.OutputStream;

import org.apache.camel.Exchange;
import org.apache.camel.spi.DataFormat;
import org.apache.camel.spi.DataFormatName;
import org.apache.camel.support.service.ServiceSupport;

/**
 * What every Prometheus protobuf endpoint does before it reads its message, in one place: checks
 * {@code Content-Type} and {@code Content-Encoding} (415), decompresses the snappy body within the
 * size limit (400, 413), then hands the bytes and the message the Content-Type names to
 * {@link #decode}. Only reads: prom2pg's answers are not written by a DataFormat of its own.
 */
public abstract class RequestDataFormat extends ServiceSupport implements DataFormat, DataFormatName {

    private final ProtobufContentType contentType = new ProtobufContentType();
    private int maxBodyBytes = 32 * 1024 * 1024;

    protected RequestDataFormat(String messages, String protocol) {
        contentType.setMessages(messages);
        contentType.setProtocol(protocol);
    }

    /** The largest body accepted once decompressed, in bytes (a larger one is a 413). */
    public void setMaxBodyBytes(int maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    /** Decodes the decompressed body as {@code message}, one of the endpoint's messages. */
    protected abstract Object decode(String message, byte[] body) throws Exception;

    @Override
    public Object unmarshal(Exchange exchange, InputStream stream) throws Exception {
        String message = contentType.check(exchange.getMessage().getHeader("Content-Type", String.class),
                exchange.getMessage().getHeader("Content-Encoding", String.class));
        byte[] compressed = exchange.getMessage().getBody(byte[].class);
        return decode(message, SnappyDataFormat.decompress(compressed != null ? compressed : stream.readAllBytes(), maxBodyBytes));
    }

    @Override
    public void marshal(Exchange exchange, Object graph, OutputStream stream) {
        throw new UnsupportedOperationException(getDataFormatName() + " only reads requests");
    }
}
