package io.prom2pg.series;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class SeriesRulesTest {

    @Test
    void should_match_whole_values_and_missing_labels_as_empty() {
        SeriesRules rules = rules("keep:\n  - metric: \"metering:.*\"\n  - labels: {job: \"\"}\n");
        assertTrue(rules.keeps(LabelSet.of(new String[] {"__name__"}, new String[] {"metering:x"})));
        assertFalse(rules.keeps(LabelSet.of(new String[] {"__name__", "job"}, new String[] {"xmetering:x", "a"})));
        assertTrue(rules.keeps(LabelSet.of(new String[] {"__name__"}, new String[] {"up"})), "no job label matches \"\"");
    }

    @Test
    void should_refuse_a_broken_rules_file_with_a_clear_reason() {
        IllegalArgumentException badRegex = assertThrows(IllegalArgumentException.class, () -> rules("drop:\n  - metric: \"(\"\n"));
        assertTrue(badRegex.getMessage().contains("invalid regular expression"), badRegex.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> rules("kep:\n  - metric: x\n"));
        assertTrue(unknown.getMessage().contains("unknown key 'kep'"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> rules("drop:\n  - {}\n"));
    }

    @Test
    void should_keep_everything_without_rules() {
        assertTrue(rules("keep: []\ndrop: []\n").keeps(LabelSet.of(new String[] {"__name__"}, new String[] {"anything"})));
    }

    private static SeriesRules rules(String yaml) {
        SeriesRules rules = new SeriesRules();
        rules.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test.yaml");
        return rules;
    }
}
