package io.prom2pg.kamelet;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.NonValidationKeyword;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

/**
 * Offline validation of Camel YAML DSL documents (routes, route templates, a Kamelet's template)
 * against the JSON schema that ships inside the camel-yaml-dsl jar, {@code schema/camelYamlDsl.json}
 * (JSON Schema draft-04, as its {@code $schema} says).
 *
 * <p>The schema is written for JSON, and Camel's YAML loader is more lenient in three ways that
 * valid routes (and the Kamelet catalog) rely on, so the document and the schema are adapted to
 * read as the loader reads:
 *
 * <ul>
 *   <li>the loader reads every scalar as text and converts it to the option's type, so
 *       {@code constant: 204} and {@code stopOnException: "{{flag}}"} are valid routes, while the
 *       schema wants a JSON string in the first and a JSON boolean in the second: a {@code string}
 *       option takes any scalar, and a {@code boolean} or {@code number} option also takes a
 *       string (none of the schema's {@code oneOf}/{@code anyOf} chooses between two scalar
 *       types, so no alternative becomes ambiguous);</li>
 *   <li>an option with a fixed set of values may be given as a property placeholder, resolved
 *       when the route is built ({@code fhirVersion: "{{fhirVersion}}"});</li>
 *   <li>the loader takes option names in kebab case too ({@code exchange-property},
 *       {@code module-class-names}): keys are turned to camel case, except inside the free-form
 *       maps of endpoint parameters and bean properties and constructors.</li>
 * </ul>
 *
 * Everything else (unknown steps, unknown options, missing required options, wrong structure,
 * values outside an enum) is checked as the schema says.
 */
final class CamelYamlDsl {

    static final String SCHEMA_RESOURCE = "schema/camelYamlDsl.json";

    /** Reads YAML as Camel's loader would see its structure; a key given twice in one mapping is an error. */
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static JsonSchema schema;
    private static String declaredDraft;

    private CamelYamlDsl() {
    }

    /** The {@code $schema} the shipped schema declares. */
    static synchronized String declaredDraft() {
        schema();
        return declaredDraft;
    }

    private static synchronized JsonSchema schema() {
        if (schema == null) {
            try (InputStream in = CamelYamlDsl.class.getClassLoader().getResourceAsStream(SCHEMA_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("no " + SCHEMA_RESOURCE + " on the classpath (camel-yaml-dsl)");
                }
                JsonNode node = JSON.readTree(in);
                declaredDraft = node.path("$schema").asText();
                widenScalarTypes(node, false);
                // "deprecated" marks options in the schema; it is not a draft-04 keyword and validates nothing
                JsonMetaSchema v4 = JsonMetaSchema.builder(JsonMetaSchema.getV4())
                        .keyword(new NonValidationKeyword("deprecated")).build();
                schema = JsonSchemaFactory.builder(JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4))
                        .metaSchema(v4).build().getSchema(node);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return schema;
    }

    /** Problems of a YAML DSL document (a list of routes, beans, route templates...), none if valid. */
    static List<String> validate(JsonNode document) {
        return schema().validate(camelCaseKeys(document)).stream().map(ValidationMessage::getMessage).sorted().toList();
    }

    /** Keys as the loader reads them: kebab case to camel case, free-form maps left alone. */
    static JsonNode camelCaseKeys(JsonNode node) {
        if (node instanceof ObjectNode object) {
            ObjectNode copy = JsonNodeFactory.instance.objectNode();
            object.fields().forEachRemaining(e -> {
                boolean freeForm = FREE_FORM.contains(e.getKey());
                copy.set(dashToCamelCase(e.getKey()), freeForm ? e.getValue() : camelCaseKeys(e.getValue()));
            });
            return copy;
        }
        if (node instanceof ArrayNode array) {
            ArrayNode copy = JsonNodeFactory.instance.arrayNode();
            array.forEach(item -> copy.add(camelCaseKeys(item)));
            return copy;
        }
        return node;
    }

    private static final java.util.Set<String> FREE_FORM = java.util.Set.of("parameters", "properties", "constructors");

    private static String dashToCamelCase(String key) {
        if (key.indexOf('-') < 0) {
            return key;
        }
        StringBuilder sb = new StringBuilder(key.length());
        boolean upper = false;
        for (char c : key.toCharArray()) {
            if (c == '-') {
                upper = true;
            } else {
                sb.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return sb.toString();
    }

    static List<String> validate(String yaml) {
        try {
            return validate(YAML.readTree(yaml));
        } catch (IOException e) {
            return List.of("not valid YAML: " + e.getMessage());
        }
    }

    /**
     * A Kamelet's {@code spec.template} as Camel loads it: a route template (its {@code beans} and
     * {@code from} or {@code route}) whose id is the Kamelet's name.
     */
    static List<String> validateTemplate(String kameletName, JsonNode template) {
        ObjectNode routeTemplate = JsonNodeFactory.instance.objectNode();
        routeTemplate.put("id", kameletName);
        if (template.isObject()) {
            template.fields().forEachRemaining(e -> routeTemplate.set(e.getKey(), e.getValue()));
        }
        ArrayNode document = JsonNodeFactory.instance.arrayNode();
        document.addObject().set("routeTemplate", routeTemplate);
        return validate(document);
    }

    private static void widenScalarTypes(JsonNode node, boolean propertyNames) {
        if (node instanceof ObjectNode object) {
            // children first, so that what is added below is not visited again
            List<Map.Entry<String, JsonNode>> fields = new java.util.ArrayList<>();
            object.fields().forEachRemaining(fields::add);
            for (Map.Entry<String, JsonNode> e : fields) {
                // under "properties" the keys are option names, not keywords
                widenScalarTypes(e.getValue(), !propertyNames && e.getKey().equals("properties"));
            }
            if (propertyNames) {
                return;
            }
            JsonNode values = object.get("enum");
            if (values != null && values.isArray()) {
                // a fixed value, or a placeholder resolved when the route is built
                object.remove("enum");
                ObjectNode placeholder = JsonNodeFactory.instance.objectNode();
                placeholder.put("type", "string").put("pattern", "\\{\\{.+}}");
                ObjectNode anyOf = JsonNodeFactory.instance.objectNode();
                anyOf.putArray("anyOf").add(JsonNodeFactory.instance.objectNode().set("enum", values)).add(placeholder);
                JsonNode allOf = object.get("allOf");
                (allOf instanceof ArrayNode a ? a : object.putArray("allOf")).add(anyOf);
            }
            JsonNode type = object.get("type");
            if (type != null && type.isTextual()) {
                switch (type.asText()) {
                    case "string" -> object.set("type", types("string", "number", "boolean"));
                    case "boolean" -> object.set("type", types("boolean", "string"));
                    case "number" -> object.set("type", types("number", "string"));
                    case "integer" -> object.set("type", types("integer", "string"));
                    default -> { }
                }
            }
        } else if (node instanceof ArrayNode array) {
            array.forEach(item -> widenScalarTypes(item, false));
        }
    }

    private static ArrayNode types(String... names) {
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        for (String n : names) {
            array.add(n);
        }
        return array;
    }
}
