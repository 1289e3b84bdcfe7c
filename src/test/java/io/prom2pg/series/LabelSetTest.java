package io.prom2pg.series;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteWriteV1.Label;
import org.junit.jupiter.api.Test;

class LabelSetTest {

    @Test
    void should_give_the_same_key_whatever_the_label_order() {
        LabelSet sorted = LabelSet.of(labels("__name__", "up", "instance", "a", "job", "b"));
        LabelSet unsorted = LabelSet.of(labels("job", "b", "__name__", "up", "instance", "a"));
        assertArrayEquals(sorted.key(), unsorted.key());
        assertArrayEquals(new String[] {"instance", "job"}, unsorted.names());
        assertArrayEquals(new String[] {"a", "b"}, unsorted.values());
        assertEquals("up", unsorted.metricName());
    }

    @Test
    void should_treat_an_empty_label_value_as_an_absent_label() {
        assertArrayEquals(LabelSet.of(labels("__name__", "up", "job", "b")).key(),
                LabelSet.of(labels("__name__", "up", "job", "b", "zone", "")).key());
    }

    @Test
    void should_not_confuse_label_boundaries() {
        assertNotEquals(java.util.Arrays.toString(LabelSet.of(labels("__name__", "up", "a", "bc")).key()),
                java.util.Arrays.toString(LabelSet.of(labels("__name__", "up", "ab", "c")).key()));
        assertNotEquals(java.util.Arrays.toString(LabelSet.of(labels("__name__", "up", "a", "b")).key()),
                java.util.Arrays.toString(LabelSet.of(labels("__name__", "upa", "b", "")).key()));
    }

    @Test
    void should_reject_what_the_remote_write_contract_forbids() {
        assertThrows(InvalidRequestException.class, () -> LabelSet.of(List.of()));
        assertThrows(InvalidRequestException.class, () -> LabelSet.of(labels("job", "a")));
        assertThrows(InvalidRequestException.class, () -> LabelSet.of(labels("__name__", "")));
        assertThrows(InvalidRequestException.class, () -> LabelSet.of(labels("__name__", "up", "", "x")));
        assertThrows(InvalidRequestException.class, () -> LabelSet.of(labels("__name__", "up", "a", "1", "a", "2")));
        assertThrows(InvalidRequestException.class, () -> LabelSet.of(labels("__name__", "up", "a\0", "1")));
    }

    private static List<Label> labels(String... nameValues) {
        List<Label> labels = new ArrayList<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            labels.add(Label.newBuilder().setName(nameValues[i]).setValue(nameValues[i + 1]).build());
        }
        return labels;
    }
}
