package io.prom2pg.kamelet;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

/**
 * Offline validation of a Kamelet, in three layers:
 *
 * <ol>
 *   <li>its structure, against {@code kamelet/kamelet.schema.json} (a test resource written for
 *       this project from the Kamelet CRD's documented fields and the catalog's required
 *       annotations and label);</li>
 *   <li>its {@code spec.template}, as the route template Camel makes of it, against the Camel
 *       YAML DSL schema ({@link CamelYamlDsl});</li>
 *   <li>the rules the camel-kamelets project checks on its catalog (its {@code script/validator}):
 *       file name, type label and name suffix, definition title, description and type, property
 *       titles, descriptions and types, required properties declared, password properties marked
 *       as credentials, annotations present, placeholders declared and properties used, and the
 *       dependencies of the components the template uses.</li>
 * </ol>
 *
 * Each problem is one line naming the Kamelet. Titles and descriptions unique across a set of
 * Kamelets are checked by {@link #duplicates}.
 */
final class KameletValidator {

    static final String TYPE_LABEL = "camel.apache.org/kamelet.type";
    static final List<String> REQUIRED_ANNOTATIONS = List.of(
            "camel.apache.org/kamelet.support.level",
            "camel.apache.org/catalog.version",
            "camel.apache.org/kamelet.icon",
            "camel.apache.org/provider",
            "camel.apache.org/kamelet.group");
    static final String CREDENTIALS = "urn:camel:group:credentials";

    /** {@code {{name}}}, {@code {{?name}}} and {@code {{name:default}}}, as the catalog's validator reads them. */
    static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{[?]?([A-Za-z0-9-._]+)(?::[^}]*)?}}");

    /** Placeholders the kamelet component itself provides to every Kamelet route. */
    static final Set<String> WELL_KNOWN_PLACEHOLDERS = Set.of("routeId", "templateId");

    /** A template property read by the simple language, {@code ${properties:name}} or {@code ${properties:name:default}}. */
    static final Pattern SIMPLE_PROPERTY = Pattern.compile("\\$\\{properties:([A-Za-z0-9-._]+)(?::[^}]*)?}");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static JsonSchema kameletSchema;

    private KameletValidator() {
    }

    /** Every problem of one Kamelet file: schema, template and catalog rules. */
    static List<String> validate(String fileName, JsonNode kamelet) {
        List<String> problems = new ArrayList<>();
        String name = kamelet.path("metadata").path("name").asText(fileName);
        for (ValidationMessage m : kameletSchema().validate(kamelet)) {
            problems.add(name + ": schema: " + m.getMessage());
        }
        JsonNode template = kamelet.path("spec").path("template");
        if (template.isObject()) {
            for (String m : CamelYamlDsl.validateTemplate(name, template)) {
                problems.add(name + ": template: " + m);
            }
        }
        for (String m : rules(fileName, kamelet)) {
            problems.add(name + ": " + m);
        }
        return problems;
    }

    static List<String> validate(String fileName, String yaml) {
        try {
            return validate(fileName, CamelYamlDsl.YAML.readTree(yaml));
        } catch (IOException e) {
            return List.of(fileName + ": not valid YAML: " + e.getMessage());
        }
    }

    static synchronized JsonSchema kameletSchema() {
        if (kameletSchema == null) {
            try (InputStream in = KameletValidator.class.getResourceAsStream("/kamelet/kamelet.schema.json")) {
                kameletSchema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(JSON.readTree(in));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return kameletSchema;
    }

    /** The catalog's rules, one line per problem. */
    static List<String> rules(String fileName, JsonNode kamelet) {
        List<String> problems = new ArrayList<>();
        JsonNode metadata = kamelet.path("metadata");
        String name = metadata.path("name").asText("");
        JsonNode spec = kamelet.path("spec");
        JsonNode definition = spec.path("definition");
        JsonNode properties = definition.path("properties");

        if (!fileName.equals(name + ".kamelet.yaml")) {
            problems.add("file " + fileName + " does not match metadata.name " + name + " (expected " + name + ".kamelet.yaml)");
        }

        String type = metadata.path("labels").path(TYPE_LABEL).asText("");
        if (!Set.of("source", "sink", "action").contains(type)) {
            problems.add("invalid " + TYPE_LABEL + " label '" + type + "' (expected source, sink or action)");
        } else if (!name.endsWith("-" + type)) {
            problems.add("name " + name + " does not end with -" + type + " although its type is " + type);
        }

        String title = definition.path("title").asText("");
        if (title.isBlank()) {
            problems.add("definition has no title");
        } else if (!type.isEmpty() && !title.endsWith(Character.toUpperCase(type.charAt(0)) + type.substring(1))) {
            problems.add("definition title '" + title + "' does not end with the type, '"
                    + Character.toUpperCase(type.charAt(0)) + type.substring(1) + "'");
        }
        if (definition.path("description").asText("").isBlank()) {
            problems.add("definition has no description");
        }
        if (!"object".equals(definition.path("type").asText())) {
            problems.add("definition type is not \"object\"");
        }

        Set<String> required = new HashSet<>();
        for (JsonNode r : definition.path("required")) {
            if (!required.add(r.asText())) {
                problems.add("required property " + r.asText() + " is listed twice");
            }
            if (!properties.has(r.asText())) {
                problems.add("required property " + r.asText() + " is not defined in the properties");
            }
        }

        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String p = e.getKey();
            JsonNode prop = e.getValue();
            if (prop.path("type").asText("").isBlank()) {
                problems.add("property " + p + " has no type");
            }
            if (prop.path("description").asText("").isBlank()) {
                problems.add("property " + p + " has no description");
            }
            String pt = prop.path("title").asText("");
            if (pt.isBlank()) {
                problems.add("property " + p + " has no title");
            } else {
                for (String article : List.of("The ", "A ", "An ")) {
                    if (pt.startsWith(article)) {
                        problems.add("property " + p + " has a title starting with \"" + article.trim() + "\": " + pt);
                    }
                }
                // the catalog's validator capitalizes every word not on a stop-word list of a Go
                // library; that list is not reproduced here, so only the first word is checked
                if (Character.isLowerCase(pt.charAt(0))) {
                    problems.add("property " + p + " has a title that does not start with a capital letter: " + pt);
                }
            }
            if ("password".equals(prop.path("format").asText()) && !hasDescriptor(prop, CREDENTIALS)) {
                problems.add("property " + p + " has the \"password\" format but not the descriptor " + CREDENTIALS);
            }
        }

        JsonNode annotations = metadata.path("annotations");
        for (String a : REQUIRED_ANNOTATIONS) {
            if (annotations.path(a).asText("").isBlank()) {
                problems.add("annotation " + a + " is missing");
            }
        }

        JsonNode template = spec.path("template");
        if (template.isMissingNode()) {
            problems.add("no template");
        } else {
            Set<String> used = new TreeSet<>();
            placeholders(template, used);
            Set<String> declared = new TreeSet<>();
            properties.fieldNames().forEachRemaining(declared::add);
            for (JsonNode bean : template.path("beans")) {
                declared.add(bean.path("name").asText());
            }
            for (String u : used) {
                if (!declared.contains(u) && !WELL_KNOWN_PLACEHOLDERS.contains(u)) {
                    problems.add("placeholder {{" + u + "}} is used in the template but not declared");
                }
            }
            for (String d : declared) {
                boolean keda = hasDescriptorPrefix(properties.path(d), "urn:keda:"); // read by KEDA, not the template
                if (!used.contains(d) && !keda) {
                    problems.add("property " + d + " is declared but never used in the template");
                }
            }
            Set<String> dependencies = new HashSet<>();
            spec.path("dependencies").forEach(dep -> dependencies.add(dep.asText()));
            for (String scheme : endpointSchemes(template)) {
                String artifact = ComponentArtifacts.of(scheme);
                if (artifact != null && !dependencies.contains("camel:" + artifact)) {
                    problems.add("the template uses " + scheme + ": but the dependencies lack camel:" + artifact);
                }
            }
        }
        return problems;
    }

    /** Titles and descriptions shared by two Kamelets of a set (the catalog wants them unique). */
    static List<String> duplicates(Map<String, JsonNode> kamelets) {
        List<String> problems = new ArrayList<>();
        Map<String, String> titles = new HashMap<>();
        Map<String, String> descriptions = new HashMap<>();
        kamelets.forEach((name, k) -> {
            String title = k.path("spec").path("definition").path("title").asText();
            String description = k.path("spec").path("definition").path("description").asText();
            String other = titles.putIfAbsent(title, name);
            if (other != null) {
                problems.add(name + ": same title as " + other + ": " + title);
            }
            other = descriptions.putIfAbsent(description, name);
            if (other != null) {
                problems.add(name + ": same description as " + other);
            }
        });
        return problems;
    }

    static void placeholders(JsonNode node, Set<String> into) {
        if (node.isTextual()) {
            for (Pattern p : List.of(PLACEHOLDER, SIMPLE_PROPERTY)) {
                Matcher m = p.matcher(node.asText());
                while (m.find()) {
                    into.add(m.group(1));
                }
            }
        } else if (node.isContainerNode()) {
            node.forEach(child -> placeholders(child, into));
        }
    }

    /** The component schemes of the endpoints a template names literally (not through a placeholder). */
    static Set<String> endpointSchemes(JsonNode template) {
        Set<String> uris = new LinkedHashSet<>();
        endpointUris(template, null, uris);
        Set<String> schemes = new TreeSet<>();
        Pattern scheme = Pattern.compile("^([a-z][a-z0-9+.-]*):");
        for (String uri : uris) {
            Matcher m = scheme.matcher(uri);
            if (m.find()) {
                schemes.add(m.group(1));
            }
        }
        return schemes;
    }

    private static void endpointUris(JsonNode node, String key, Set<String> into) {
        if (node.isTextual()) {
            if ("uri".equals(key) || Set.of("to", "toD", "wireTap", "enrich", "pollEnrich").contains(key)) {
                into.add(node.asText());
            }
        } else if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                // endpoint options are values, not endpoints; "beans" hold bean properties
                if (!e.getKey().equals("parameters") && !e.getKey().equals("beans")) {
                    endpointUris(e.getValue(), e.getKey(), into);
                }
            });
        } else if (node.isArray()) {
            node.forEach(item -> endpointUris(item, key, into));
        }
    }

    private static boolean hasDescriptor(JsonNode prop, String descriptor) {
        for (JsonNode d : prop.path("x-descriptors")) {
            if (d.asText().equals(descriptor)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasDescriptorPrefix(JsonNode prop, String prefix) {
        for (JsonNode d : prop.path("x-descriptors")) {
            if (d.asText().startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The artifact of a component scheme, from the {@code component.properties} every Camel
     * component jar carries ({@code components=...}, {@code artifactId=camel-xxx} gives
     * {@code xxx}); null when the component is not on the test classpath, and so cannot be
     * checked here.
     */
    static final class ComponentArtifacts {
        private static Map<String, String> artifacts;

        static synchronized String of(String scheme) {
            if (artifacts == null) {
                artifacts = new HashMap<>();
                try {
                    var resources = KameletValidator.class.getClassLoader()
                            .getResources("META-INF/services/org/apache/camel/component.properties");
                    while (resources.hasMoreElements()) {
                        Properties p = new Properties();
                        try (InputStream in = resources.nextElement().openStream()) {
                            p.load(in);
                        }
                        String artifact = p.getProperty("artifactId", "").replaceFirst("^camel-", "");
                        for (String component : p.getProperty("components", "").trim().split("\\s+")) {
                            if (!component.isEmpty() && !artifact.isEmpty()) {
                                artifacts.put(component, artifact);
                            }
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return artifacts.get(scheme);
        }
    }
}
