package io.prom2pg.decode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;

/** The label names and values of one series, as sent (not yet canonical). */
public record Labels(String[] names, String[] values) {

    /** Decodes the label fields (TimeSeries field 1) found at offset..offset+length of a body. */
    static Labels decode(byte[] body, int offset, int length) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(body, offset, length);
            List<String> names = new ArrayList<>(12);
            List<String> values = new ArrayList<>(12);
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                if (WireFormat.getTagFieldNumber(tag) != 1) {
                    in.skipField(tag);
                    continue;
                }
                int limit = in.pushLimit(in.readRawVarint32());
                String name = "";
                String value = "";
                while (!in.isAtEnd()) {
                    int t = in.readTag();
                    switch (WireFormat.getTagFieldNumber(t)) {
                        case 1 -> name = in.readStringRequireUtf8();
                        case 2 -> value = in.readStringRequireUtf8();
                        default -> in.skipField(t);
                    }
                }
                in.popLimit(limit);
                names.add(name);
                values.add(value);
            }
            return new Labels(names.toArray(new String[0]), values.toArray(new String[0]));
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidRequestException("body is not a remote write protobuf message: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidRequestException("body is not a remote write protobuf message: " + e.getMessage());
        }
    }
}
