package io.prom2pg.read;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a matcher's regular expression says in plain literals, read before PostgreSQL evaluates
 * it: either the exact set of values it matches ({@code a|b|c}, {@code app-(1|2)-web}), or a
 * prefix every value it matches starts with ({@code app-(4567|4568)-.*} starts with
 * {@code app-456}). Prometheus turns such regexes into a set lookup or a prefix test too.
 *
 * <p>Why: PostgreSQL's regular expressions cost ~1 µs a value, and a matcher is evaluated on every
 * series of the metric: matching 10 pods among the 10,000 series of one metric took 18-27 ms, and
 * 13-17 ms with the prefix tested first (BENCHMARKS.md, "Series matching for remote read").
 *
 * <p>The reading is conservative: literal characters, escaped punctuation, groups ({@code (...)},
 * {@code (?:...)}) and alternation are understood; at anything else (a class, {@code .}, a
 * quantifier, an anchor, a flag, an escape such as {@code \d}) it stops, keeping what is certain
 * before it. A value outside the set or without the prefix cannot match, so the regex itself
 * decides the rest.
 */
public final class RegexLiterals {

    /** Sets larger than this are left to the regex (a cross product of groups can grow fast). */
    static final int MAX_SET = 256;

    private static final String META = "\\.+*?()|[]{}^$";

    private final String re;
    private int at;

    private RegexLiterals(String re) {
        this.re = re;
    }

    /**
     * What {@code regex} (RE2 syntax, anchored at both ends) says in literals, read once.
     *
     * @param exactSet the values it matches exactly, or {@code null} when they are not a small literal set
     * @param requiredPrefix a prefix of every value it matches; empty when none is known
     */
    public record Literals(List<String> exactSet, String requiredPrefix) {
    }

    public static Literals of(String regex) {
        Alternatives a = read(regex);
        if (a == null) {
            return new Literals(null, "");
        }
        String prefix = null;
        for (String s : a.strings) {
            prefix = prefix == null ? s : commonPrefix(prefix, s);
        }
        return new Literals(a.complete() && a.strings.size() <= MAX_SET ? List.copyOf(a.strings) : null,
                prefix == null ? "" : prefix);
    }

    private static Alternatives read(String regex) {
        RegexLiterals r = new RegexLiterals(regex);
        Alternatives a = r.alternation();
        if (a == null) {
            return null;
        }
        if (a.stopped) {
            // the rest was not read: were there a '|' in it (even in a class or escaped), a later
            // branch could match values that start otherwise
            return regex.indexOf('|', r.at) >= 0 ? null : a;
        }
        // a ')' without its '(' is an error PostgreSQL reports; nothing is concluded
        return r.at < regex.length() ? null : a;
    }

    /**
     * The strings one branch or alternation can start with. {@code stopped}: reading stopped inside
     * (the rest of the expression was not read), so they are prefixes; otherwise its whole values.
     */
    private record Alternatives(Set<String> strings, boolean stopped) {
        boolean complete() {
            return !stopped;
        }
    }

    /** branch ('|' branch)*, up to a ')' or the end; null when it cannot be read at all. */
    private Alternatives alternation() {
        Set<String> strings = new LinkedHashSet<>();
        while (true) {
            Alternatives branch = branch();
            if (branch == null) {
                return null;
            }
            strings.addAll(branch.strings);
            if (strings.size() > MAX_SET) {
                return null;
            }
            if (branch.stopped) {
                // no branch follows (read() checks that no '|' is left where reading stopped)
                return new Alternatives(strings, true);
            }
            if (at < re.length() && re.charAt(at) == '|') {
                at++;
                continue;
            }
            return new Alternatives(strings, false);
        }
    }

    /** A concatenation of literals and groups, up to '|', ')' or the end. */
    private Alternatives branch() {
        List<String> strings = new ArrayList<>(List.of(""));
        while (at < re.length()) {
            char c = re.charAt(at);
            if (c == '|' || c == ')') {
                return new Alternatives(new LinkedHashSet<>(strings), false);
            }
            List<String> before = strings;
            if (c == '(') {
                if (re.startsWith("(?:", at)) {
                    at += 3;
                } else if (re.startsWith("(?", at)) {
                    return stop(strings); // flags or a named group
                } else {
                    at++;
                }
                Alternatives group = alternation();
                if (group == null) {
                    return null;
                }
                if (group.stopped) {
                    // what the group starts with is not certain: a quantifier after its ')' may make it absent
                    return stop(strings);
                }
                if (at >= re.length() || re.charAt(at) != ')') {
                    return null;
                }
                at++;
                strings = product(strings, group.strings);
                if (strings == null) {
                    return stop(before);
                }
            } else {
                int literal = literal();
                if (literal < 0) {
                    return stop(strings);
                }
                List<String> next = new ArrayList<>(strings.size());
                for (String s : strings) {
                    next.add(s + Character.toString(literal));
                }
                strings = next;
            }
            if (at < re.length() && "*+?{".indexOf(re.charAt(at)) >= 0) {
                // the item just read may repeat or be absent: only what came before it is certain
                return stop(before);
            }
        }
        return new Alternatives(new LinkedHashSet<>(strings), false);
    }

    /** The code point of a literal at {@code at} (moving past it), or -1 for anything else. */
    private int literal() {
        char c = re.charAt(at);
        if (c == '\\') {
            // RE2: a backslash before punctuation is that character; before a letter or digit, a class or an escape
            char next = at + 1 < re.length() ? re.charAt(at + 1) : 'a';
            if (next < 128 && !Character.isLetterOrDigit(next) && next > ' ') {
                at += 2;
                return next;
            }
            return -1;
        }
        if (META.indexOf(c) >= 0) {
            return -1;
        }
        int cp = re.codePointAt(at);
        at += Character.charCount(cp);
        return cp;
    }

    private static Alternatives stop(List<String> strings) {
        return new Alternatives(new LinkedHashSet<>(strings), true);
    }

    private static List<String> product(List<String> heads, Set<String> tails) {
        if ((long) heads.size() * tails.size() > MAX_SET) {
            return null;
        }
        List<String> out = new ArrayList<>(heads.size() * tails.size());
        for (String h : heads) {
            for (String t : tails) {
                out.add(h + t);
            }
        }
        return out;
    }

    private static String commonPrefix(String a, String b) {
        int n = 0;
        int max = Math.min(a.length(), b.length());
        while (n < max && a.charAt(n) == b.charAt(n)) {
            n++;
        }
        // not half a surrogate pair
        if (n > 0 && n < a.length() && Character.isHighSurrogate(a.charAt(n - 1))) {
            n--;
        }
        return a.substring(0, n);
    }
}
