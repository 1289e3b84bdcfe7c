package io.prom2pg.read;

import java.util.ArrayList;
import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteRead.LabelMatcher;

/**
 * A PromQL series selector as text, {@code metric{label="value", other=~"re.*"}}, read into the
 * label matchers of a remote read query, so that the console's explore page asks exactly what a
 * remote read would. Strings are quoted with {@code "}, {@code '} or {@code `} (raw), with Go's
 * escapes (PromQL's syntax).
 */
public final class Selector {

    private final String text;
    private int at;

    private Selector(String text) {
        this.text = text;
    }

    /** The matchers of the selector; a bad selector is an {@link InvalidRequestException} saying where. */
    public static List<LabelMatcher> parse(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidRequestException("match is missing: give a series selector such as up{job=\"node\"}");
        }
        return new Selector(text).matchers();
    }

    private List<LabelMatcher> matchers() {
        List<LabelMatcher> matchers = new ArrayList<>();
        space();
        if (at < text.length() && text.charAt(at) != '{') {
            matchers.add(matcher("__name__", LabelMatcher.Type.EQ, name(true)));
            space();
        }
        if (at < text.length() && text.charAt(at) == '{') {
            at++;
            space();
            while (peek() != '}') {
                String label = name(false);
                space();
                LabelMatcher.Type type = operator();
                space();
                matchers.add(matcher(label, type, string()));
                space();
                if (peek() == ',') {
                    at++;
                    space();
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            at++;
            space();
        }
        if (at < text.length()) {
            throw error("unexpected '" + text.charAt(at) + "'");
        }
        if (matchers.isEmpty()) {
            throw error("a selector needs a metric name or at least one label matcher");
        }
        if (matchers.stream().allMatch(Selector::matchesEmpty)) {
            throw new InvalidRequestException("a selector needs at least one matcher that does not match the empty string"
                    + " (as in PromQL): " + printable(text));
        }
        return matchers;
    }

    private static LabelMatcher matcher(String name, LabelMatcher.Type type, String value) {
        return LabelMatcher.newBuilder().setName(name).setType(type).setValue(value).build();
    }

    /** A metric name ({@code [a-zA-Z_:][a-zA-Z0-9_:]*}) or a label name (no colon). */
    private String name(boolean metric) {
        int start = at;
        while (at < text.length()) {
            char c = text.charAt(at);
            boolean ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (metric && c == ':')
                    || (at > start && c >= '0' && c <= '9');
            if (!ok) {
                break;
            }
            at++;
        }
        if (at == start) {
            throw error(metric ? "expected a metric name" : "expected a label name");
        }
        return text.substring(start, at);
    }

    private LabelMatcher.Type operator() {
        if (text.startsWith("=~", at)) {
            at += 2;
            return LabelMatcher.Type.RE;
        }
        if (text.startsWith("!~", at)) {
            at += 2;
            return LabelMatcher.Type.NRE;
        }
        if (text.startsWith("!=", at)) {
            at += 2;
            return LabelMatcher.Type.NEQ;
        }
        if (text.startsWith("=", at)) {
            at++;
            return LabelMatcher.Type.EQ;
        }
        throw error("expected one of = != =~ !~");
    }

    /**
     * A quoted string: "..." and '...' with Go's escapes (backslash-x NN and octal NNN are bytes of
     * UTF-8, backslash-u and -U code points; only the string's own quote is escaped), `...` raw.
     * PromQL's rules.
     */
    private String string() {
        char quote = peek();
        if (quote != '"' && quote != '\'' && quote != '`') {
            throw error("expected a quoted string");
        }
        at++;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        while (true) {
            if (at >= text.length()) {
                throw error("unterminated string");
            }
            int c = text.codePointAt(at);
            at += Character.charCount(c);
            if (c == quote) {
                try {
                    return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                            .decode(java.nio.ByteBuffer.wrap(bytes.toByteArray())).toString();
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw error("the string's escapes are not UTF-8");
                }
            }
            if (quote == '`') {
                utf8(bytes, c);
                continue;
            }
            if (c == '\n') {
                throw error("a newline in a quoted string");
            }
            if (c != '\\') {
                utf8(bytes, c);
                continue;
            }
            if (at >= text.length()) {
                throw error("unterminated string");
            }
            char e = text.charAt(at++);
            switch (e) {
                case 'n' -> bytes.write('\n');
                case 't' -> bytes.write('\t');
                case 'r' -> bytes.write('\r');
                case 'a' -> bytes.write(7);
                case 'b' -> bytes.write('\b');
                case 'f' -> bytes.write('\f');
                case 'v' -> bytes.write(11);
                case '\\' -> bytes.write('\\');
                case 'x' -> bytes.write(number(2, 16, e));
                case 'u' -> utf8(bytes, codePoint(number(4, 16, e)));
                case 'U' -> utf8(bytes, codePoint(number(8, 16, e)));
                case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                    at--;
                    int octal = number(3, 8, e);
                    if (octal > 255) {
                        throw error("octal escape above \\377");
                    }
                    bytes.write(octal);
                }
                default -> {
                    if (e != quote) {
                        throw error("unknown escape \\" + e);
                    }
                    bytes.write(e);
                }
            }
        }
    }

    /** Exactly {@code digits} digits of the radix (no sign, no fewer). */
    private int number(int digits, int radix, char escape) {
        if (at + digits > text.length()) {
            throw error("short \\" + escape + " escape");
        }
        long n = 0;
        for (int k = 0; k < digits; k++) {
            int d = Character.digit(text.charAt(at + k), radix);
            if (d < 0) {
                throw error("bad \\" + escape + " escape");
            }
            n = n * radix + d;
        }
        at += digits;
        return n > Integer.MAX_VALUE ? -1 : (int) n;
    }

    private int codePoint(int c) {
        if (c < 0 || c > Character.MAX_CODE_POINT || (c >= 0xD800 && c <= 0xDFFF)) {
            throw error("escape is not a Unicode code point");
        }
        return c;
    }

    private static void utf8(java.io.ByteArrayOutputStream bytes, int codePoint) {
        bytes.writeBytes(new String(Character.toChars(codePoint)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * As in PromQL, a selector whose every matcher also matches the empty string would select
     * every series ({@code {job=~".*"}}): refused. A regex Java cannot read is left to PostgreSQL.
     */
    private static boolean matchesEmpty(LabelMatcher m) {
        return switch (m.getType()) {
            case EQ -> m.getValue().isEmpty();
            case NEQ -> !m.getValue().isEmpty();
            case RE, NRE -> {
                boolean re;
                try {
                    re = java.util.regex.Pattern.compile(SeriesMatch.anchored(m.getValue())).matcher("").matches();
                } catch (java.util.regex.PatternSyntaxException e) {
                    yield false;
                }
                yield m.getType() == LabelMatcher.Type.RE ? re : !re;
            }
            default -> false;
        };
    }

    private char peek() {
        if (at >= text.length()) {
            throw error("unexpected end of the selector");
        }
        return text.charAt(at);
    }

    private void space() {
        while (at < text.length() && (text.charAt(at) == ' ' || text.charAt(at) == '\t' || text.charAt(at) == '\n' || text.charAt(at) == '\r')) {
            at++;
        }
    }

    private InvalidRequestException error(String what) {
        return new InvalidRequestException("bad series selector at character " + (at + 1) + ": " + what + " in " + printable(text));
    }

    /** The selector as it may go into a log line: printable ASCII, at most 200 characters. */
    private static String printable(String text) {
        String s = text.replaceAll("[^\\x20-\\x7e]", "?");
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
