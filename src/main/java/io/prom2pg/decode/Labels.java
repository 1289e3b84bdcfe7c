package io.prom2pg.decode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.prom2pg.failure.InvalidRequestException;

/** The label names and values of one series, as sent (not yet canonical). */
public record Labels(String[] names, String[] values) {

    /**
     * Remote write 2.0: labels given as {@code count} references (name, value, name, value...)
     * starting at {@code refs[first]}, into a symbol table held as byte ranges of the body.
     */
    static Labels fromSymbols(byte[] body, int[] offsets, int[] lengths, int[] refs, int first, int count) {
        if (count % 2 != 0) {
            throw new InvalidRequestException("labels_refs of a series has an odd length (" + count + ")");
        }
        String[] names = new String[count / 2];
        String[] values = new String[count / 2];
        for (int k = 0; k < count; k += 2) {
            names[k / 2] = symbol(body, offsets, lengths, refs[first + k]);
            values[k / 2] = symbol(body, offsets, lengths, refs[first + k + 1]);
        }
        return new Labels(names, values);
    }

    static String symbol(byte[] body, int[] offsets, int[] lengths, int ref) {
        if (ref < 0 || ref >= offsets.length || (ref > 0 && lengths[ref] < 0)) {
            throw new InvalidRequestException("symbol reference " + (ref & 0xffffffffL) + " is outside the symbols table");
        }
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(body, offsets[ref], lengths[ref])).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InvalidRequestException("symbol " + ref + " is not valid UTF-8");
        }
    }

    /** Reads one length-delimited Label message (name = 1, value = 2) and adds it to the lists. */
    static void readLabel(CodedInputStream in, List<String> names, List<String> values) throws IOException {
        int limit = in.pushLimit(in.readRawVarint32());
        String name = "";
        String value = "";
        while (!in.isAtEnd()) {
            int t = in.readTag();
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> name = in.readStringRequireUtf8(); // Label: string name = 1;
                case 2 -> value = in.readStringRequireUtf8(); // Label: string value = 2;
                default -> in.skipField(t);
            }
        }
        in.popLimit(limit);
        names.add(name);
        values.add(value);
    }

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
                readLabel(in, names, values);
            }
            return new Labels(names.toArray(new String[0]), values.toArray(new String[0]));
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidRequestException("body is not a remote write protobuf message: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidRequestException("body is not a remote write protobuf message: " + e.getMessage());
        }
    }
}
