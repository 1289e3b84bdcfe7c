package io.prom2pg.decode;

import java.io.InputStream;
import java.io.OutputStream;

import org.apache.camel.Exchange;
import org.apache.camel.spi.DataFormat;
import org.apache.camel.spi.DataFormatName;
import org.apache.camel.support.service.ServiceSupport;

/** A DataFormat that only reads: a request body, as bytes, into a {@link DecodedWrite}. */
abstract class RequestDataFormat extends ServiceSupport implements DataFormat, DataFormatName {

    abstract DecodedWrite decode(byte[] body);

    @Override
    public void marshal(Exchange exchange, Object graph, OutputStream stream) {
        throw new UnsupportedOperationException("prom2pg only reads remote write requests");
    }

    @Override
    public Object unmarshal(Exchange exchange, InputStream stream) throws Exception {
        byte[] body = exchange.getMessage().getBody(byte[].class);
        return decode(body != null ? body : stream.readAllBytes());
    }
}
