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

    private String string() {
        char quote = peek();
        if (quote != '"' && quote != '\'' && quote != '`') {
            throw error("expected a quoted string");
        }
        at++;
        StringBuilder s = new StringBuilder();
        while (true) {
            if (at >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(at++);
            if (c == quote) {
                return s.toString();
            }
            if (c != '\\' || quote == '`') {
                s.append(c);
                continue;
            }
            if (at >= text.length()) {
                throw error("unterminated string");
            }
            char e = text.charAt(at++);
            switch (e) {
                case 'n' -> s.append('\n');
                case 't' -> s.append('\t');
                case 'r' -> s.append('\r');
                case 'a' -> s.append('\u0007');
                case 'b' -> s.append('\b');
                case 'f' -> s.append('\f');
                case 'v' -> s.append('\u000b');
                case '\\', '"', '\'' -> s.append(e);
                case 'u', 'U', 'x' -> {
                    int digits = e == 'u' ? 4 : e == 'U' ? 8 : 2;
                    if (at + digits > text.length()) {
                        throw error("short \\" + e + " escape");
                    }
                    try {
                        s.appendCodePoint(Integer.parseInt(text.substring(at, at + digits), 16));
                    } catch (IllegalArgumentException ex) {
                        throw error("bad \\" + e + " escape");
                    }
                    at += digits;
                }
                default -> throw error("unknown escape \\" + e);
            }
        }
    }

    private char peek() {
        if (at >= text.length()) {
            throw error("unexpected end of the selector");
        }
        return text.charAt(at);
    }

    private void space() {
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
            at++;
        }
    }

    private InvalidRequestException error(String what) {
        return new InvalidRequestException("bad series selector at character " + (at + 1) + ": " + what + " in " + text);
    }
}
