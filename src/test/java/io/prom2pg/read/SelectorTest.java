package io.prom2pg.read;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteRead.LabelMatcher;
import io.prom2pg.proto.RemoteRead.LabelMatcher.Type;
import org.junit.jupiter.api.Test;

/** PromQL series selectors as text, read into remote read's label matchers. */
class SelectorTest {

    @Test
    void should_read_a_metric_name_and_every_matcher_type() {
        List<LabelMatcher> m = Selector.parse(" node_cpu_seconds_total:rate5m { job = \"node\", mode!=\"idle\","
                + " cpu=~'0|1', instance!~`host-.*\\d`, } ");
        assertEquals(List.of(matcher("__name__", Type.EQ, "node_cpu_seconds_total:rate5m"), matcher("job", Type.EQ, "node"),
                matcher("mode", Type.NEQ, "idle"), matcher("cpu", Type.RE, "0|1"), matcher("instance", Type.NRE, "host-.*\\d")), m);
    }

    @Test
    void should_read_go_escapes_in_quoted_strings_and_none_in_raw_ones() {
        assertEquals("a\"b\\c\nd\u00e9", Selector.parse("{l=\"a\\\"b\\\\c\\nd\\u00e9\"}").get(0).getValue());
        assertEquals("it's", Selector.parse("{l='it\\'s'}").get(0).getValue());
        assertEquals("a\\nb", Selector.parse("{l=`a\\nb`}").get(0).getValue());
        assertEquals(List.of(matcher("__name__", Type.EQ, "up")), Selector.parse("{__name__=\"up\"}"));
        assertEquals(List.of(matcher("__name__", Type.EQ, "up")), Selector.parse("up{}"));
        assertEquals("\u00e9\u00e9", Selector.parse("{l=\"\\xc3\\xa9\\303\\251\"}").get(0).getValue(),
                "hex and octal escapes are the bytes of UTF-8, as in Go");
        assertEquals("\ud83d\ude00", Selector.parse("{l=\"\\U0001F600\"}").get(0).getValue());
        assertEquals("a\nb", Selector.parse("{l=`a\nb`}").get(0).getValue(), "a raw string may hold a newline");
    }

    @Test
    void should_refuse_a_selector_that_would_select_every_series_as_promql_does() {
        for (String all : new String[] {"{job=~\".*\"}", "{job=\"\"}", "{job!=\"x\"}", "{job!~\".+\"}", "{a=~\".*\", b=\"\"}"}) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> Selector.parse(all), all);
            assertTrue(e.getMessage().contains("does not match the empty string"), e.getMessage());
        }
        assertEquals(2, Selector.parse("{job=~\".*\", instance=~\".+\"}").size());
        assertEquals(1, Selector.parse("{job!=\"\"}").size());
    }

    @Test
    void should_refuse_what_is_not_a_selector_saying_where() {
        for (String bad : new String[] {"", "  ", "{}", "up{job=\"x\"", "up{job=x}", "up{job~\"x\"}", "up{job=\"x\" mode=\"y\"}",
            "up{9=\"x\"}", "up{job=\"x\\q\"}", "rate(up[5m])", "up}", "up{job=\"x\"} extra", "up{job=\"\\u00\"}",
            "up{job=\"it\\'s\"}", "up{job=\"a\nb\"}", "up{job=\"\\u+041\"}", "up{job=\"\\xff\"}", "up{job=\"\\400\"}",
            "up{job=\"\\ud800\"}"}) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> Selector.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("bad series selector at character ") || e.getMessage().startsWith("match is missing"),
                    bad + ": " + e.getMessage());
        }
    }

    private static LabelMatcher matcher(String name, Type type, String value) {
        return LabelMatcher.newBuilder().setName(name).setType(type).setValue(value).build();
    }
}
