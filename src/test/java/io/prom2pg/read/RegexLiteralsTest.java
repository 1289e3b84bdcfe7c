package io.prom2pg.read;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The literal sets and prefixes read from matchers' regexes: never a value the regex would decide otherwise. */
class RegexLiteralsTest {

    @Test
    void should_read_alternations_of_literals_as_the_set_they_match() {
        assertEquals(List.of("api", "db"), RegexLiterals.of("api|db").exactSet());
        assertEquals(List.of("app-1-x", "app-1-y", "app-2-x", "app-2-y"), RegexLiterals.of("app-(1|2)-(?:x|y)").exactSet());
        assertEquals(List.of("a.b", "a|b"), RegexLiterals.of("a\\.b|a\\|b").exactSet());
        assertEquals(List.of(""), RegexLiterals.of("").exactSet());
        assertEquals(List.of("a", "", "b"), RegexLiterals.of("a||b").exactSet());
        assertEquals(List.of("żółw"), RegexLiterals.of("żółw").exactSet());
    }

    @Test
    void should_leave_to_the_regex_what_is_not_a_small_literal_set() {
        for (String re : new String[] {"a.*", "a+", "ab?", "[ab]", "a\\d", "(?i)api", "(?P<x>a)", "^a", "a$", "a{2}",
                "(unclosed", "a)", "x|.*", "\\Qa|b\\E"}) {
            assertNull(RegexLiterals.of(re).exactSet(), re);
        }
        StringBuilder big = new StringBuilder();
        for (int i = 0; i <= RegexLiterals.MAX_SET; i++) {
            big.append(i == 0 ? "" : "|").append("v").append(i);
        }
        assertNull(RegexLiterals.of(big.toString()).exactSet(), "more than MAX_SET values");
        assertNull(RegexLiterals.of("(a|b|c|d)(a|b|c|d)(a|b|c|d)(a|b|c|d)(a|b|c|d)").exactSet(), "a cross product over MAX_SET");
    }

    @Test
    void should_read_the_prefix_every_match_starts_with_and_nothing_uncertain() {
        assertEquals("app-", RegexLiterals.of("app-(4567|4568|9)-.*").requiredPrefix());
        assertEquals("app-456", RegexLiterals.of("app-(4567|4568)-.*").requiredPrefix());
        assertEquals("team-a-", RegexLiterals.of("team-a-.*").requiredPrefix());
        assertEquals("ab", RegexLiterals.of("abc*").requiredPrefix(), "c may be absent");
        assertEquals("ab", RegexLiterals.of("ab(cd)?x").requiredPrefix(), "the group may be absent");
        assertEquals("a", RegexLiterals.of("a(bc|bd.*)").requiredPrefix());
        assertEquals("ab", RegexLiterals.of("abc|ab.*").requiredPrefix(), "the last branch may stop");
        assertEquals("", RegexLiterals.of("ab.*|abc").requiredPrefix(), "a branch after the stop is not read");
        assertEquals("", RegexLiterals.of("a.*|b").requiredPrefix(), "a branch after the stop starts otherwise");
        assertEquals("", RegexLiterals.of("ab[|]c").requiredPrefix(), "a '|' after the stop, even in a class, is not read");
        assertEquals("", RegexLiterals.of("(?i)abc").requiredPrefix());
        assertEquals("", RegexLiterals.of(".*abc").requiredPrefix());
        assertEquals("a\\", RegexLiterals.of("a\\\\.*").requiredPrefix());
        assertEquals("", RegexLiterals.of("(unclosed").requiredPrefix());
    }

    /**
     * Random regexes of literals, groups, alternation, classes, '.' and quantifiers, against random
     * values, with java.util.regex as the judge (it agrees with RE2 and PostgreSQL on these).
     */
    @Test
    void should_never_decide_a_value_otherwise_than_the_regex() {
        Random random = new Random(15);
        int sets = 0;
        int prefixes = 0;
        for (int n = 0; n < 5_000; n++) {
            String re = regex(random, 0);
            Pattern pattern = Pattern.compile(re);
            RegexLiterals.Literals literals = RegexLiterals.of(re);
            List<String> set = literals.exactSet();
            String prefix = literals.requiredPrefix();
            sets += set == null ? 0 : 1;
            prefixes += prefix.isEmpty() ? 0 : 1;
            List<String> values = new ArrayList<>(set == null ? List.of() : set);
            for (int k = 0; k < 100; k++) {
                values.add(value(random));
            }
            for (String v : values) {
                boolean matches = pattern.matcher(v).matches();
                if (set != null) {
                    assertEquals(matches, set.contains(v), "regex " + re + ", value " + v + ", set " + set);
                }
                if (matches) {
                    assertTrue(v.startsWith(prefix), "regex " + re + " matches " + v + ", which lacks the prefix " + prefix);
                }
            }
        }
        assertTrue(sets > 500 && prefixes > 500, "the generator makes both: " + sets + " sets, " + prefixes + " prefixes");
    }

    private static final String[] LITERALS = {"a", "b", "-", "_", "%", "\\.", "\\\\", "\\|"};

    private static String regex(Random random, int depth) {
        StringBuilder re = new StringBuilder();
        int branches = 1 + (random.nextInt(4) == 0 ? random.nextInt(3) : 0);
        for (int b = 0; b < branches; b++) {
            if (b > 0) {
                re.append('|');
            }
            int items = random.nextInt(5);
            for (int i = 0; i < items; i++) {
                int kind = random.nextInt(12);
                if (kind < 7) {
                    re.append(LITERALS[random.nextInt(LITERALS.length)]);
                } else if (kind < 9 && depth < 2) {
                    re.append(random.nextBoolean() ? "(" : "(?:").append(regex(random, depth + 1)).append(')');
                } else if (kind == 9) {
                    re.append('.');
                } else if (kind == 10) {
                    re.append("[ab]");
                } else {
                    re.append('a');
                }
                if (random.nextInt(6) == 0) {
                    re.append("*+?".charAt(random.nextInt(3)));
                }
            }
        }
        return re.toString();
    }

    private static String value(Random random) {
        StringBuilder v = new StringBuilder();
        int length = random.nextInt(7);
        for (int i = 0; i < length; i++) {
            v.append("ab-_%.\\|".charAt(random.nextInt(8)));
        }
        return v.toString();
    }
}
