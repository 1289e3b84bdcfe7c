package io.prom2pg.decode;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

import io.airlift.compress.MalformedInputException;
import io.airlift.compress.snappy.SnappyCompressor;
import io.airlift.compress.snappy.SnappyDecompressor;
import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.failure.PayloadTooLargeException;
import org.apache.camel.Exchange;
import org.apache.camel.spi.DataFormat;
import org.apache.camel.spi.DataFormatName;
import org.apache.camel.support.service.ServiceSupport;

/**
 * Snappy <em>block</em> format (not the framed format), as Prometheus remote write uses it.
 * Unmarshal checks the declared uncompressed length against {@link #setMaxUncompressedBytes}
 * before allocating anything, so a small body cannot claim gigabytes.
 */
public class SnappyDataFormat extends ServiceSupport implements DataFormat, DataFormatName {

    private int maxUncompressedBytes = 32 * 1024 * 1024;

    @Override
    public String getDataFormatName() {
        return "snappy";
    }

    public int getMaxUncompressedBytes() {
        return maxUncompressedBytes;
    }

    public void setMaxUncompressedBytes(int maxUncompressedBytes) {
        this.maxUncompressedBytes = maxUncompressedBytes;
    }

    @Override
    public void marshal(Exchange exchange, Object graph, OutputStream stream) throws Exception {
        byte[] input = exchange.getContext().getTypeConverter().mandatoryConvertTo(byte[].class, exchange, graph);
        stream.write(compress(input));
    }

    @Override
    public Object unmarshal(Exchange exchange, InputStream stream) throws Exception {
        byte[] compressed = exchange.getMessage().getBody(byte[].class);
        if (compressed == null) {
            compressed = stream.readAllBytes();
        }
        return decompress(compressed, maxUncompressedBytes);
    }

    public static byte[] compress(byte[] input) {
        SnappyCompressor compressor = new SnappyCompressor();
        byte[] out = new byte[compressor.maxCompressedLength(input.length)];
        int n = compressor.compress(input, 0, input.length, out, 0, out.length);
        return Arrays.copyOf(out, n);
    }

    public static byte[] decompress(byte[] compressed, int maxUncompressedBytes) {
        if (compressed.length == 0) {
            throw new InvalidRequestException("empty body: expected a snappy-compressed protobuf message");
        }
        int length;
        try {
            length = SnappyDecompressor.getUncompressedLength(compressed, 0);
        } catch (MalformedInputException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new InvalidRequestException("body is not snappy block format: bad length header");
        }
        if (length < 0) {
            throw new InvalidRequestException("body is not snappy block format: bad length header");
        }
        if (length > maxUncompressedBytes) {
            throw new PayloadTooLargeException("decompressed body of " + length + " bytes exceeds the limit of "
                    + maxUncompressedBytes + " bytes (prom2pg.http.max-body-bytes)");
        }
        byte[] out = new byte[length];
        try {
            int n = new SnappyDecompressor().decompress(compressed, 0, compressed.length, out, 0, out.length);
            if (n != length) {
                throw new InvalidRequestException("body is not snappy block format: " + n
                        + " bytes decoded where the header declares " + length);
            }
        } catch (MalformedInputException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new InvalidRequestException("body is not snappy block format: " + oneLine(e.getMessage()));
        }
        return out;
    }

    static String oneLine(String message) {
        if (message == null) {
            return "malformed input";
        }
        return message.replaceAll("\\s+", " ").trim();
    }
}
