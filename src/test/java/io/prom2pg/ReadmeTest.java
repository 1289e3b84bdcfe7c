package io.prom2pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

/** The README's configuration table is where users look: it must name every setting prom2pg has. */
class ReadmeTest {

    @Test
    void should_document_every_setting_with_its_environment_variable_and_default() throws IOException {
        Properties defaults = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            defaults.load(in);
        }
        String readme = Files.readString(Path.of("README.md"));
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (String key : new TreeSet<>(defaults.stringPropertyNames())) {
            if (!key.startsWith("prom2pg.")) {
                continue;
            }
            checked++;
            String env = key.toUpperCase().replace('.', '_').replace('-', '_');
            String row = "| `" + key + "` | `" + env + "` | ";
            int at = readme.indexOf(row);
            if (at < 0) {
                missing.add(key);
                continue;
            }
            String value = defaults.getProperty(key).trim();
            String documented = readme.substring(at + row.length(), readme.indexOf(" |", at + row.length()));
            assertTrue(value.isEmpty() ? documented.contains("empty") : documented.contains("`" + value + "`"),
                    key + ": default " + value + " but the README says " + documented);
        }
        assertEquals(List.of(), missing, "settings without a row in the README's configuration table");
        assertTrue(checked > 40, "only " + checked + " settings read");
    }
}
