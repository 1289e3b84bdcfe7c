package io.prom2pg.kamelet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Offline validation of what prom2pg ships as Camel YAML: the routes in {@code routes/}, the
 * Kamelets in {@code kamelet/} and the example routes in {@code kamelet/examples/}. Nothing is
 * started; the checks are the Camel YAML DSL schema, a Kamelet schema and the catalog's rules
 * (see {@link CamelYamlDsl} and {@link KameletValidator}).
 *
 * <p>The Kamelet checks are themselves checked: every Kamelet of the camel-kamelets catalog
 * (4.16.0, on the test classpath) passes them, save the deviations listed in
 * {@link #CATALOG_DEVIATIONS}, and deliberately broken Kamelets fail them.
 */
class RouteAndKameletValidationTest {

    static final Path ROUTES = Path.of("routes");
    static final Path KAMELETS = Path.of("kamelet");
    static final Path EXAMPLES = KAMELETS.resolve("examples");

    /**
     * What the catalog breaks of these checks, kamelet by kamelet: each entry is a fragment of the
     * expected problem. Each must still be found (the test fails when the catalog fixes one, so
     * the list stays exact), and nothing else may be.
     */
    static final Map<String, List<String>> CATALOG_DEVIATIONS = new TreeMap<>(Map.ofEntries(
            // Written for "transform: toType", which Camel 4.17 calls transformDataType: the 4.17
            // schema has no toType on transform, and the 4.17 YAML loader refuses these three
            // Kamelets too ("Unsupported field: toType").
            Map.entry("aws-ddb-sink", List.of("transform: property 'toType' is not defined")),
            Map.entry("aws-ddb-streams-source", List.of("transform: property 'toType' is not defined")),
            Map.entry("google-sheets-sink", List.of("transform: property 'toType' is not defined")),
            // Knowingly: the catalog's own validator exempts these from its used-parameter rule
            // (verifyUsedParams in script/validator/validator.go).
            Map.entry("aws-s3-event-based-source", List.of("property queueURL is declared but never used")),
            Map.entry("elasticsearch-search-source", List.of("property query is declared but never used")),
            Map.entry("opensearch-search-source", List.of("property query is declared but never used")),
            Map.entry("kafka-azure-schema-registry-sink", List.of("property defaultAzureCredential is declared but never used")),
            Map.entry("kafka-azure-schema-registry-source", List.of("property defaultAzureCredential is declared but never used")),
            Map.entry("kafka-batch-azure-schema-registry-source",
                    List.of("property defaultAzureCredential is declared but never used")),
            // Slips in 4.16 that the catalog's own rules also forbid: a property the template never
            // reads, passwords not marked as credentials, and "long", which is no JSON schema type.
            Map.entry("aws-sqs-source", List.of("property queueURL is declared but never used")),
            Map.entry("kafka-ssl-source", List.of("property sslKeyPassword has the \"password\" format but not the descriptor")),
            Map.entry("kafka-batch-ssl-source",
                    List.of("property sslKeystorePassword has the \"password\" format but not the descriptor")),
            Map.entry("salesforce-source", List.of("properties.replayId.type: does not have a value in the enumeration"))));

    // ---------------------------------------------------------------- routes

    @Test
    void should_use_the_draft_04_schema_that_camel_yaml_dsl_ships() {
        assertEquals("http://json-schema.org/draft-04/schema#", CamelYamlDsl.declaredDraft());
    }

    @TestFactory
    Stream<DynamicTest> every_route_file_is_valid_camel_yaml_dsl() throws IOException {
        List<Path> files = new ArrayList<>();
        files.addAll(yamlFiles(ROUTES, ".yaml"));
        files.addAll(yamlFiles(EXAMPLES, ".yaml").stream().filter(f -> !f.toString().endsWith(".pipe.yaml")).toList());
        assertTrue(files.contains(EXAMPLES.resolve("remote-write-to-postgresql.yaml")), "routes found: " + files);
        assertTrue(files.contains(ROUTES.resolve("remote-write.yaml")), "routes found: " + files);
        return files.stream().map(file -> DynamicTest.dynamicTest(file.toString(), () ->
                assertEquals(List.of(), CamelYamlDsl.validate(Files.readString(file)), file + " is valid Camel YAML DSL")));
    }

    @Test
    void should_refuse_a_route_with_an_unknown_step() {
        String broken = """
                - route:
                    id: broken
                    from:
                      uri: direct:in
                      steps:
                        - tooo: log:out
                """;
        List<String> problems = CamelYamlDsl.validate(broken);
        assertFalse(problems.isEmpty(), "an unknown step is refused");
        assertTrue(problems.stream().anyMatch(p -> p.contains("tooo")), problems.toString());
        assertEquals(List.of(), CamelYamlDsl.validate(broken.replace("tooo:", "to:")), "the same route, fixed, passes");
    }

    @Test
    void should_refuse_routes_with_unknown_options_missing_parts_or_repeated_keys() {
        assertProblem("misspelt option", "property 'stopOnExceptoin' is not defined", """
                - route:
                    from:
                      uri: direct:in
                      steps:
                        - split:
                            simple: "${body}"
                            stopOnExceptoin: true
                """);
        assertProblem("from without uri", "route.from: required property 'uri' not found", """
                - route:
                    from:
                      steps:
                        - to: log:out
                """);
        assertProblem("value outside the enum", "loggingLevel: does not have a value in the enumeration", """
                - route:
                    from:
                      uri: direct:in
                      steps:
                        - log:
                            message: hi
                            loggingLevel: LOUD
                """);
        assertProblem("a key given twice", "Duplicate field 'id'", """
                - route:
                    id: a
                    id: b
                    from:
                      uri: direct:in
                      steps:
                        - to: log:out
                """);
        assertProblem("steps that are not a list", "steps: object found, array expected", """
                - route:
                    from:
                      uri: direct:in
                      steps:
                        to: log:out
                """);
    }

    @Test
    void should_take_yaml_scalars_as_camel_does() {
        assertEquals(List.of(), CamelYamlDsl.validate("""
                - route:
                    from:
                      uri: direct:in
                      steps:
                        - setHeader:
                            name: CamelHttpResponseCode
                            constant: 204
                        - split:
                            simple: "${body}"
                            stopOnException: "{{stop}}"
                            steps:
                              - to: log:out
                """));
    }

    // ---------------------------------------------------------------- prom2pg's Kamelets

    @Test
    void should_ship_the_source_and_the_sink() throws IOException {
        assertEquals(List.of("prom2pg-postgresql-sink.kamelet.yaml", "prometheus-remote-write-source.kamelet.yaml"),
                yamlFiles(KAMELETS, ".kamelet.yaml").stream().map(p -> p.getFileName().toString()).sorted().toList());
    }

    @TestFactory
    Stream<DynamicTest> every_kamelet_of_prom2pg_passes_the_schema_the_template_check_and_the_catalog_rules() throws IOException {
        return yamlFiles(KAMELETS, ".kamelet.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () ->
                assertEquals(List.of(), KameletValidator.validate(file.getFileName().toString(), Files.readString(file)))));
    }

    @Test
    void should_have_titles_and_descriptions_no_catalog_kamelet_has() throws IOException {
        Map<String, JsonNode> all = new LinkedHashMap<>(catalog());
        for (Path file : yamlFiles(KAMELETS, ".kamelet.yaml")) {
            JsonNode k = read(file);
            all.put(k.path("metadata").path("name").asText(), k);
        }
        assertEquals(List.of(), KameletValidator.duplicates(all));
    }

    @Test
    void should_carry_the_project_version() throws IOException {
        String version = projectVersion();
        for (Path file : yamlFiles(KAMELETS, ".kamelet.yaml")) {
            JsonNode k = read(file);
            assertEquals(version, k.path("metadata").path("annotations").path("camel.apache.org/catalog.version").asText(),
                    file + ": catalog.version is the project version");
            List<String> deps = new ArrayList<>();
            k.path("spec").path("dependencies").forEach(d -> deps.add(d.asText()));
            assertTrue(deps.contains("mvn:io.prom2pg:prom2pg:" + version), file + ": depends on this prom2pg: " + deps);
        }
    }

    /**
     * The Kamelets configure prom2pg's Java beans by name: every class, setter, constructor,
     * init and destroy method, bean method and caught exception they name exists.
     */
    @Test
    void should_refer_only_to_classes_and_methods_that_exist() throws Exception {
        for (Path file : yamlFiles(KAMELETS, ".kamelet.yaml")) {
            JsonNode template = read(file).path("spec").path("template");
            Map<String, Class<?>> beans = new TreeMap<>();
            for (JsonNode bean : template.path("beans")) {
                String name = bean.path("name").asText();
                Class<?> type = Class.forName(bean.path("type").asText().replaceFirst("^#class:", ""));
                beans.put(name, type);
                for (Iterator<String> it = bean.path("properties").fieldNames(); it.hasNext(); ) {
                    String property = it.next();
                    String setter = "set" + Character.toUpperCase(property.charAt(0)) + property.substring(1);
                    assertTrue(Arrays.stream(type.getMethods()).anyMatch(m -> m.getName().equals(setter) && m.getParameterCount() == 1),
                            file + ": " + type.getName() + " has " + setter);
                }
                int arguments = bean.path("constructors").size();
                assertTrue(Arrays.stream(type.getConstructors()).anyMatch(c -> c.getParameterCount() == arguments),
                        file + ": " + type.getName() + " has a public constructor of " + arguments + " arguments");
                for (String lifecycle : List.of("initMethod", "destroyMethod")) {
                    if (bean.has(lifecycle)) {
                        Method m = type.getMethod(bean.path(lifecycle).asText());
                        assertTrue(Modifier.isPublic(m.getModifiers()), file + ": " + m);
                    }
                }
            }
            List<JsonNode[]> calls = new ArrayList<>();
            beanCalls(template.path("from"), calls);
            assertFalse(calls.isEmpty());
            for (JsonNode[] call : calls) {
                String bean = call[0].asText().replaceAll("^\\{\\{|}}$", "");
                Class<?> type = beans.get(bean);
                assertNotNull(type, file + ": a bean of the template: " + call[0]);
                String method = call[1].asText().replaceFirst("\\(.*$", "");
                assertTrue(Arrays.stream(type.getMethods()).anyMatch(m -> m.getName().equals(method)),
                        file + ": " + type.getName() + " has " + method);
            }
            List<String> caught = new ArrayList<>();
            caughtExceptions(template, caught);
            for (String exception : caught) {
                assertTrue(Throwable.class.isAssignableFrom(Class.forName(exception)), file + ": " + exception);
            }
        }
    }

    // ---------------------------------------------------------------- the checks, checked

    @Test
    void every_kamelet_of_the_catalog_passes_the_same_checks() throws IOException {
        Map<String, JsonNode> catalog = catalog();
        assertTrue(catalog.size() > 200, "the camel-kamelets catalog is on the classpath: " + catalog.size());
        Map<String, List<String>> failing = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : catalog.entrySet()) {
            List<String> problems = new ArrayList<>(KameletValidator.validate(e.getKey() + ".kamelet.yaml", e.getValue()));
            for (String expected : CATALOG_DEVIATIONS.getOrDefault(e.getKey(), List.of())) {
                assertTrue(problems.removeIf(p -> p.contains(expected)),
                        e.getKey() + ": the known deviation '" + expected + "' is gone; drop it from CATALOG_DEVIATIONS");
            }
            if (!problems.isEmpty()) {
                failing.put(e.getKey(), problems);
            }
        }
        assertEquals(Map.of(), failing, "catalog Kamelets failing the checks");
        assertEquals(List.of(), KameletValidator.duplicates(catalog));
        catalog.forEach((name, k) -> assertEquals("Apache Software Foundation",
                k.path("metadata").path("annotations").path("camel.apache.org/provider").asText(), name));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenKamelets")
    void should_refuse_a_broken_kamelet(String what, String fileName, Consumer<ObjectNode> breakIt, String expected)
            throws IOException {
        ObjectNode kamelet = (ObjectNode) read(KAMELETS.resolve("prometheus-remote-write-source.kamelet.yaml"));
        assertEquals(List.of(), KameletValidator.validate("prometheus-remote-write-source.kamelet.yaml", kamelet));
        breakIt.accept(kamelet);
        List<String> problems = KameletValidator.validate(fileName, kamelet);
        assertTrue(problems.stream().anyMatch(p -> p.contains(expected)), what + ": expected '" + expected + "' in " + problems);
    }

    static Stream<Arguments> brokenKamelets() {
        String file = "prometheus-remote-write-source.kamelet.yaml";
        return Stream.of(
                broken("file name and metadata.name differ", "remote-write-source.kamelet.yaml", k -> { },
                        "does not match metadata.name"),
                broken("name without the type suffix", "prometheus-remote-write.kamelet.yaml",
                        k -> meta(k).put("name", "prometheus-remote-write"), "does not end with -source"),
                broken("type label of another type", file,
                        k -> ((ObjectNode) meta(k).path("labels")).put(KameletValidator.TYPE_LABEL, "sink"), "does not end with -sink"),
                broken("unknown type", file,
                        k -> ((ObjectNode) meta(k).path("labels")).put(KameletValidator.TYPE_LABEL, "sorce"), "invalid"),
                broken("kind misspelt", file, k -> k.put("kind", "Kamlet"), "schema:"),
                broken("unknown spec field", file, k -> spec(k).set("templates", spec(k).path("template")), "schema:"),
                broken("icon missing", file,
                        k -> ((ObjectNode) meta(k).path("annotations")).remove("camel.apache.org/kamelet.icon"),
                        "annotation camel.apache.org/kamelet.icon is missing"),
                broken("support level unknown", file,
                        k -> ((ObjectNode) meta(k).path("annotations")).put("camel.apache.org/kamelet.support.level", "Beta"),
                        "schema:"),
                broken("definition title without the type", file,
                        k -> definition(k).put("title", "Prometheus Remote Write"), "does not end with the type"),
                broken("property without a title", file, k -> property(k, "port").remove("title"), "property port has no title"),
                broken("property without a description", file,
                        k -> property(k, "port").remove("description"), "property port has no description"),
                broken("property of an unknown type", file, k -> property(k, "port").put("type", "text"), "schema:"),
                broken("property title starting with an article", file,
                        k -> property(k, "port").put("title", "The Port"), "title starting with \"The\""),
                broken("property title in lower case", file,
                        k -> property(k, "maxBodyBytes").put("title", "maximum body size"), "does not start with a capital letter"),
                broken("required property not defined", file,
                        k -> definition(k).putArray("required").add("hostname"), "required property hostname is not defined"),
                broken("required property listed twice", file,
                        k -> definition(k).putArray("required").add("port").add("port"), "listed twice"),
                broken("password not marked as credentials", file,
                        k -> ((ObjectNode) definition(k).path("properties")).putObject("password")
                                .put("title", "Password").put("description", "A password.").put("type", "string")
                                .put("format", "password"), "urn:camel:group:credentials"),
                broken("placeholder not declared", file,
                        k -> ((ObjectNode) spec(k).path("template").path("from").path("parameters")).put("httpMethodRestrict", "{{method}}"),
                        "placeholder {{method}} is used in the template but not declared"),
                broken("property never used", file,
                        k -> ((ObjectNode) definition(k).path("properties")).putObject("unused")
                                .put("title", "Unused").put("description", "Not used.").put("type", "string"),
                        "property unused is declared but never used"),
                broken("component without its dependency", file, k -> {
                    ArrayNode deps = (ArrayNode) spec(k).path("dependencies");
                    for (int i = deps.size() - 1; i >= 0; i--) {
                        if (deps.get(i).asText().equals("camel:netty-http")) {
                            deps.remove(i);
                        }
                    }
                }, "lack camel:netty-http"),
                broken("dependency in no known form", file,
                        k -> ((ArrayNode) spec(k).path("dependencies")).add("io.prom2pg:prom2pg"), "schema:"),
                broken("unknown step in the template", file,
                        k -> ((ArrayNode) spec(k).path("template").path("from").path("steps")).addObject().put("tooo", "log:x"),
                        "template:"),
                broken("template without from", file,
                        k -> ((ObjectNode) spec(k).path("template")).remove("from"), "schema:"));
    }

    @Test
    void should_refuse_a_kamelet_that_is_not_valid_yaml() throws IOException {
        String yaml = Files.readString(KAMELETS.resolve("prometheus-remote-write-source.kamelet.yaml"))
                .replace("kind: Kamelet", "kind: Kamelet\nkind: Kamelet");
        List<String> problems = KameletValidator.validate("prometheus-remote-write-source.kamelet.yaml", yaml);
        assertTrue(problems.stream().anyMatch(p -> p.contains("not valid YAML") && p.contains("kind")), problems.toString());
    }

    @Test
    void the_pipe_example_binds_the_two_kamelets_with_properties_they_declare() throws IOException {
        JsonNode pipe = read(EXAMPLES.resolve("prometheus-to-postgresql.pipe.yaml"));
        assertEquals("camel.apache.org/v1", pipe.path("apiVersion").asText());
        assertEquals("Pipe", pipe.path("kind").asText());
        for (String side : List.of("source", "sink")) {
            JsonNode end = pipe.path("spec").path(side);
            assertEquals("Kamelet", end.path("ref").path("kind").asText(), side);
            assertEquals("camel.apache.org/v1", end.path("ref").path("apiVersion").asText(), side);
            String name = end.path("ref").path("name").asText();
            JsonNode kamelet = read(KAMELETS.resolve(name + ".kamelet.yaml"));
            assertEquals(side, kamelet.path("metadata").path("labels").path(KameletValidator.TYPE_LABEL).asText(), name);
            JsonNode declared = kamelet.path("spec").path("definition").path("properties");
            end.path("properties").fieldNames().forEachRemaining(p ->
                    assertTrue(declared.has(p), name + " declares " + p));
            kamelet.path("spec").path("definition").path("required").forEach(r ->
                    assertTrue(end.path("properties").has(r.asText()), side + " sets the required " + r.asText()));
        }
    }

    @Test
    void the_readme_documents_every_property() throws IOException {
        String readme = Files.readString(KAMELETS.resolve("README.md"));
        for (Path file : yamlFiles(KAMELETS, ".kamelet.yaml")) {
            read(file).path("spec").path("definition").path("properties").fieldNames().forEachRemaining(p ->
                    assertTrue(readme.contains("| `" + p + "` |"), "kamelet/README.md has a row for " + p + " of " + file));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void assertProblem(String what, String expected, String yaml) {
        List<String> problems = CamelYamlDsl.validate(yaml);
        assertTrue(problems.stream().anyMatch(p -> p.contains(expected)), what + ": expected '" + expected + "' in " + problems);
    }

    private static Arguments broken(String what, String fileName, Consumer<ObjectNode> breakIt, String expected) {
        return Arguments.of(what, fileName, breakIt, expected);
    }

    private static ObjectNode meta(ObjectNode k) {
        return (ObjectNode) k.path("metadata");
    }

    private static ObjectNode spec(ObjectNode k) {
        return (ObjectNode) k.path("spec");
    }

    private static ObjectNode definition(ObjectNode k) {
        return (ObjectNode) spec(k).path("definition");
    }

    private static ObjectNode property(ObjectNode k, String name) {
        return (ObjectNode) definition(k).path("properties").path(name);
    }

    /**
     * A bean that refers to one declared further down is made without it (Camel binds nothing and
     * says nothing), so every {@code #bean:} reference must name a bean declared above it.
     */
    @Test
    void should_declare_every_bean_before_a_bean_refers_to_it() throws IOException {
        Map<Path, JsonNode> declarations = new java.util.LinkedHashMap<>();
        declarations.put(Path.of("routes/beans.yaml"), read(Path.of("routes/beans.yaml")).get(0).path("beans"));
        for (Path kamelet : yamlFiles(Path.of("kamelet"), ".kamelet.yaml")) {
            declarations.put(kamelet, read(kamelet).path("spec").path("template").path("beans"));
        }
        declarations.forEach((file, beans) -> {
            assertTrue(beans.isArray() && beans.size() > 0, file + " declares beans");
            java.util.Set<String> above = new java.util.HashSet<>();
            for (JsonNode bean : beans) {
                bean.path("properties").fields().forEachRemaining(p -> {
                    String value = p.getValue().asText();
                    if (value.startsWith("#bean:")) {
                        String ref = value.substring("#bean:".length()).replace("{{", "").replace("}}", "");
                        assertTrue(above.contains(ref), file + ": bean " + bean.path("name").asText() + " refers to " + ref
                                + " (property " + p.getKey() + "), which is not declared above it");
                    }
                });
                above.add(bean.path("name").asText());
            }
        });
    }

    private static List<Path> yamlFiles(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    private static JsonNode read(Path file) throws IOException {
        return CamelYamlDsl.YAML.readTree(Files.readString(file));
    }

    /** Every Kamelet of the camel-kamelets jar on the classpath, by name. */
    static Map<String, JsonNode> catalog() throws IOException {
        URL any = RouteAndKameletValidationTest.class.getClassLoader().getResource("kamelets/timer-source.kamelet.yaml");
        assertNotNull(any, "camel-kamelets is on the test classpath");
        Map<String, JsonNode> kamelets = new TreeMap<>();
        JarURLConnection connection = (JarURLConnection) any.openConnection();
        connection.setUseCaches(false);
        try (JarFile jar = connection.getJarFile()) {
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry entry = entries.nextElement();
                Matcher m = Pattern.compile("^kamelets/([^/]+)\\.kamelet\\.yaml$").matcher(entry.getName());
                if (m.matches()) {
                    try (InputStream in = jar.getInputStream(entry)) {
                        kamelets.put(m.group(1), CamelYamlDsl.YAML.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                    }
                }
            }
        }
        return kamelets;
    }

    private static String projectVersion() throws IOException {
        Matcher m = Pattern.compile("<artifactId>prom2pg</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(m.find(), "the project version in pom.xml");
        return m.group(1);
    }

    /** Every {ref, method} pair of bean steps and method expressions. */
    private static void beanCalls(JsonNode node, List<JsonNode[]> into) {
        if (node.isObject()) {
            if (node.has("ref") && node.has("method")) {
                into.add(new JsonNode[] {node.get("ref"), node.get("method")});
            }
            node.forEach(child -> beanCalls(child, into));
        } else if (node.isArray()) {
            node.forEach(child -> beanCalls(child, into));
        }
    }

    private static void caughtExceptions(JsonNode node, List<String> into) {
        if (node.isObject()) {
            if (node.has("doCatch")) {
                node.get("doCatch").forEach(c -> c.path("exception").forEach(e -> into.add(e.asText())));
            }
            node.forEach(child -> caughtExceptions(child, into));
        } else if (node.isArray()) {
            node.forEach(child -> caughtExceptions(child, into));
        }
    }
}
