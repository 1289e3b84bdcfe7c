package io.prom2pg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.openshift.api.model.monitoring.v1.Prometheus;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.RelabelConfig;
import io.fabric8.openshift.api.model.monitoring.v1.RemoteWriteSpec;
import io.fabric8.openshift.api.model.monitoring.v1.Rule;
import io.fabric8.openshift.api.model.monitoring.v1.RuleGroup;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import org.junit.jupiter.api.Assumptions;

/**
 * What the {@code deploy/} tests share: the overlays and component combinations, the kustomize
 * builds (made once, kept), strict parsing into fabric8 types, and helpers to find containers,
 * volumes, ports and settings in them.
 */
final class Manifests {

    private Manifests() {
    }

    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Path DEPLOY = ROOT.resolve("deploy");
    static final Path WORK = ROOT.resolve("target/deploy-test");

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final KubernetesSerialization STRICT = strictSerialization();

    static final String PROM2PG_IMAGE = "ghcr.io/prom2pg/prom2pg";
    static final String DB_SECRET = "prom2pg-db";

    /** Overlays a platform engineer applies, by directory under deploy/. */
    static final List<String> OVERLAYS = List.of(
            "overlays/openshift", "overlays/kubernetes", "overlays/receivers", "overlays/kubernetes-receivers", "camel-k");

    /** Components, each built on top of an overlay in a kustomization written under target/. */
    static final Map<String, Combination> COMBINATIONS = Map.of(
            "openshift+pg-wal", new Combination("overlays/openshift", List.of("components/pg-wal")),
            "openshift+timescaledb", new Combination("overlays/openshift", List.of("components/timescaledb")),
            "openshift+auth+routes-config", new Combination("overlays/openshift", List.of("components/auth", "components/routes-config")),
            "receivers+auth+routes-config", new Combination("overlays/receivers", List.of("components/auth", "components/routes-config")),
            "openshift+tls", new Combination("overlays/openshift", List.of("components/tls")),
            "receivers+tls", new Combination("overlays/receivers", List.of("components/tls")));

    /** Builds that must run under OpenShift's restricted-v2 SCC: no fixed uid, gid or fsGroup. */
    static final List<String> OPENSHIFT_BUILDS = List.of(
            "overlays/openshift", "overlays/receivers", "camel-k",
            "openshift+pg-wal", "openshift+timescaledb", "openshift+auth+routes-config", "receivers+auth+routes-config", "openshift+tls", "receivers+tls");

    /** Fields of OpenShift's RemoteWriteSpec in cluster-monitoring-config (monv1.RemoteWriteSpec without bearerToken). */
    static final Set<String> OPENSHIFT_REMOTE_WRITE_FIELDS = Set.of("authorization", "basicAuth", "bearerTokenFile",
            "headers", "metadataConfig", "name", "oauth2", "proxyUrl", "queueConfig", "remoteTimeout", "sendExemplars", "sigv4",
            "tlsConfig", "url", "writeRelabelConfigs");

    static final Set<String> KUSTOMIZATION_FIELDS = Set.of("apiVersion", "kind", "metadata", "namespace", "namePrefix",
            "nameSuffix", "labels", "commonLabels", "commonAnnotations", "resources", "components", "patches",
            "configMapGenerator", "secretGenerator", "generatorOptions", "images", "replicas", "replacements", "configurations",
            "crds", "openapi", "transformers", "generators", "validators", "buildMetadata", "sortOptions", "helmCharts");

    static final Map<String, Class<?>> TYPES = Map.ofEntries(
            Map.entry("Namespace", Namespace.class),
            Map.entry("Secret", Secret.class),
            Map.entry("ConfigMap", ConfigMap.class),
            Map.entry("Service", Service.class),
            Map.entry("StatefulSet", StatefulSet.class),
            Map.entry("Deployment", Deployment.class),
            Map.entry("PodDisruptionBudget", PodDisruptionBudget.class),
            Map.entry("Role", Role.class),
            Map.entry("RoleBinding", RoleBinding.class),
            Map.entry("ServiceMonitor", ServiceMonitor.class),
            Map.entry("PrometheusRule", PrometheusRule.class),
            Map.entry("Prometheus", Prometheus.class),
            Map.entry("PersistentVolumeClaim", PersistentVolumeClaim.class));

    static final Map<String, List<HasMetadata>> BUILDS = new LinkedHashMap<>();

    record Combination(String overlay, List<String> components) {
    }

    static void checkRestricted(String name, PodSpec pod) {
        PodSecurityContext psc = pod.getSecurityContext();
        boolean podNonRoot = psc != null && Boolean.TRUE.equals(psc.getRunAsNonRoot());
        boolean podSeccomp = psc != null && psc.getSeccompProfile() != null && "RuntimeDefault".equals(psc.getSeccompProfile().getType());
        assertFalse(Boolean.TRUE.equals(pod.getHostNetwork()) || Boolean.TRUE.equals(pod.getHostPID()) || Boolean.TRUE.equals(pod.getHostIPC()),
                name + ": host namespaces");
        for (Volume v : pod.getVolumes() == null ? List.<Volume>of() : pod.getVolumes()) {
            assertTrue(v.getEmptyDir() != null || v.getConfigMap() != null || v.getSecret() != null || v.getPersistentVolumeClaim() != null
                    || v.getProjected() != null || v.getDownwardAPI() != null || v.getEphemeral() != null,
                    name + ": volume type not allowed by restricted-v2: " + v.getName());
        }
        for (Container c : allContainers(pod)) {
            SecurityContext sc = c.getSecurityContext();
            String where = name + ": container " + c.getName();
            assertNotNull(sc, where + " has no securityContext");
            assertTrue(podNonRoot || Boolean.TRUE.equals(sc.getRunAsNonRoot()), where + " runAsNonRoot");
            assertFalse(Boolean.FALSE.equals(sc.getRunAsNonRoot()), where + " runAsNonRoot false");
            assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), where + " allowPrivilegeEscalation");
            assertFalse(Boolean.TRUE.equals(sc.getPrivileged()), where + " privileged");
            assertNotNull(sc.getCapabilities(), where + " capabilities");
            assertTrue(sc.getCapabilities().getDrop().contains("ALL"), where + " capabilities.drop ALL");
            List<String> added = sc.getCapabilities().getAdd() == null ? List.of() : sc.getCapabilities().getAdd();
            assertTrue(added.stream().allMatch("NET_BIND_SERVICE"::equals), where + " capabilities.add " + added);
            boolean seccomp = podSeccomp || sc.getSeccompProfile() != null && "RuntimeDefault".equals(sc.getSeccompProfile().getType());
            assertTrue(seccomp, where + " seccompProfile RuntimeDefault");
            for (ContainerPort p : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
                assertTrue(p.getHostPort() == null, where + " hostPort");
            }
        }
    }

    static void assertHttpProbe(String where, Container c, Probe probe, String path, int port) {
        assertNotNull(probe, where + " probe missing");
        assertNotNull(probe.getHttpGet(), where + " probe is not httpGet");
        assertEquals(path, probe.getHttpGet().getPath(), where + " path");
        assertEquals(port, resolvePort(c, probe.getHttpGet().getPort()), where + " port");
    }

    static void assertProbeCommand(String where, Probe probe, String command) {
        assertNotNull(probe, where + ": postgres probe missing");
        assertNotNull(probe.getExec(), where + ": postgres probe is not exec");
        assertTrue(String.join(" ", probe.getExec().getCommand()).contains(command), where + ": probe " + probe.getExec().getCommand());
    }

    /** A JDBC URL at localhost with PostgreSQL in the same pod, or at a Service selecting the database pods. */
    static void assertDatabaseUrl(String name, List<HasMetadata> docs, String url) {
        Matcher m = Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/([a-z0-9_]+)").matcher(url);
        assertTrue(m.matches(), name + ": PROM2PG_DB_URL " + url);
        int port = Integer.parseInt(m.group(2));
        PodTemplateSpec db = one(docs, StatefulSet.class, "prom2pg").getSpec().getTemplate();
        Container pg = container(db.getSpec(), "postgresql");
        if (m.group(1).equals("localhost")) {
            assertTrue(db.getSpec().getContainers().stream().anyMatch(c -> c.getName().equals("prom2pg")),
                    name + ": localhost only reaches PostgreSQL from its own pod");
            assertEquals(port, portNumber(pg, "postgresql"));
        } else {
            String host = m.group(1).split("\\.")[0];
            Service s = one(docs, Service.class, host);
            assertTrue(selects(s.getSpec().getSelector(), db.getMetadata().getLabels()), name + ": Service " + host + " selects the database");
            assertTrue(s.getSpec().getPorts().stream().anyMatch(p -> p.getPort() == port && resolvePort(pg, p.getTargetPort()) == 5432),
                    name + ": Service " + host + " port " + port);
        }
    }

    static void checkRemoteWrite(String where, RemoteWriteSpec spec, String overlay) throws IOException {
        URI url = URI.create(spec.getUrl());
        assertEquals("http", url.getScheme(), where + ": scheme");
        String[] host = url.getHost().split("\\.");
        assertTrue(host.length >= 3 && host[2].equals("svc"), where + ": host should be <service>.<namespace>.svc: " + url.getHost());
        assertEquals("/api/v1/write", url.getPath(), where + ": path");
        assertTrue(Files.readString(ROOT.resolve("routes/remote-write.yaml")).contains(url.getPath() + "\""),
                where + ": routes/remote-write.yaml has no endpoint " + url.getPath());
        assertTrue(spec.getQueueConfig().getMaxShards() * 2 <= intProperty("prom2pg.limits.max-requests-in-flight"),
                where + ": two Prometheus replicas x maxShards past prom2pg's requests in flight");
        assertEquals(Boolean.FALSE, spec.getMetadataConfig().getSend(), where + ": metadata");

        // the keep rule lets every metering:* record through, and nothing removes the HA labels
        List<RelabelConfig> relabel = spec.getWriteRelabelConfigs();
        RelabelConfig keep = relabel.stream().filter(r -> "keep".equalsIgnoreCase(r.getAction())).findFirst().orElseThrow();
        assertEquals(List.of("__name__"), keep.getSourceLabels());
        Pattern regex = Pattern.compile("^(?:" + keep.getRegex() + ")$");
        Path rule = DEPLOY.resolve("base/prometheusrule-metering.yaml");
        Set<String> records = meteringRecords((PrometheusRule) strictlyTyped(rule.toString(), readYaml(Files.readString(rule))));
        assertEquals(16, records.size());
        for (String record : records) {
            assertTrue(regex.matcher(record).matches(), where + ": writeRelabelConfigs drop " + record);
        }
        assertTrue(relabel.stream().noneMatch(r -> Set.of("labeldrop", "labelkeep", "labelmap").contains(String.valueOf(r.getAction()).toLowerCase())),
                where + ": labels prometheus and prometheus_replica must reach prom2pg");

        if (kubectlPath().isPresent()) {
            List<HasMetadata> docs = build(overlay);
            Service s = one(docs, Service.class, host[0]);
            assertEquals(host[1], s.getMetadata().getNamespace(), where + ": namespace of Service " + host[0]);
            ServicePort p = servicePort(s, "http");
            assertEquals(url.getPort(), p.getPort(), where + ": port");
        }
    }

    static void checkKustomization(Path file, Set<Path> patches, Set<Path> configurations) throws IOException {
        String where = ROOT.relativize(file).toString();
        JsonNode k = readYaml(Files.readString(file));
        Set<String> fields = new TreeSet<>();
        k.fieldNames().forEachRemaining(fields::add);
        assertTrue(KUSTOMIZATION_FIELDS.containsAll(fields), where + ": unknown fields " + fields);
        String kind = k.path("kind").asText();
        assertTrue(kind.equals("Kustomization") && k.path("apiVersion").asText().equals("kustomize.config.k8s.io/v1beta1")
                || kind.equals("Component") && k.path("apiVersion").asText().equals("kustomize.config.k8s.io/v1alpha1"), where + ": kind " + kind);
        Path dir = file.getParent();
        for (String list : List.of("resources", "components")) {
            for (String r : textValues(k.path(list))) {
                assertTrue(Files.exists(dir.resolve(r)), where + ": " + list + " " + r + " does not exist");
            }
        }
        for (JsonNode p : k.path("patches")) {
            assertKeys(where + " patches[]", p, Set.of("path", "patch", "target", "options"));
            assertKeys(where + " patches[].target", p.path("target"),
                    Set.of("group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"));
            if (p.has("path")) {
                Path patch = dir.resolve(p.path("path").asText()).normalize();
                assertTrue(Files.isRegularFile(patch), where + ": patch " + patch);
                patches.add(patch);
            }
        }
        for (String list : List.of("configMapGenerator", "secretGenerator")) {
            for (JsonNode g : k.path(list)) {
                assertKeys(where + " " + list + "[]", g, Set.of("name", "namespace", "behavior", "files", "literals", "envs", "env", "type", "options"));
                for (String f : textValues(g.path("files"))) {
                    assertTrue(Files.isRegularFile(dir.resolve(f.contains("=") ? f.substring(f.indexOf('=') + 1) : f)), where + ": file " + f);
                }
                for (String f : textValues(g.path("envs"))) {
                    assertTrue(Files.isRegularFile(dir.resolve(f)), where + ": env file " + f);
                }
            }
        }
        for (JsonNode i : k.path("images")) {
            assertKeys(where + " images[]", i, Set.of("name", "newName", "newTag", "digest"));
        }
        for (String c : textValues(k.path("configurations"))) {
            Path config = dir.resolve(c).normalize();
            assertTrue(Files.isRegularFile(config), where + ": configuration " + c);
            configurations.add(config);
        }
    }

    static void checkTransformerConfiguration(String where, JsonNode config) {
        assertKeys(where, config, Set.of("images", "namePrefix", "nameSuffix", "namespace", "commonLabels", "commonAnnotations",
                "nameReference", "varReference", "replicas"));
        config.fields().forEachRemaining(e -> {
            for (JsonNode spec : e.getValue()) {
                assertKeys(where + " " + e.getKey() + "[]", spec, Set.of("path", "kind", "group", "version", "create"));
                assertFalse(spec.path("path").asText().isEmpty(), where + ": fieldSpec path");
            }
        });
    }

    static void checkJsonPatch(String where, ArrayNode ops) {
        for (JsonNode op : ops) {
            assertKeys(where + " op", op, Set.of("op", "path", "value", "from"));
            assertTrue(Set.of("add", "remove", "replace", "move", "copy", "test").contains(op.path("op").asText()), where + ": op " + op.path("op"));
            String path = op.path("path").asText();
            assertTrue(path.startsWith("/"), where + ": path " + path);
            if (path.startsWith("/spec/volumeClaimTemplates/")) {
                ObjectNode pvc = ((ObjectNode) op.path("value").deepCopy()).put("apiVersion", "v1").put("kind", "PersistentVolumeClaim");
                strictlyTyped(where + " " + path, pvc);
            }
        }
    }

    static void assertKeys(String where, JsonNode node, Set<String> allowed) {
        if (node.isMissingNode()) {
            return;
        }
        assertTrue(node.isObject(), where + ": not a mapping");
        node.fieldNames().forEachRemaining(f -> assertTrue(allowed.contains(f), where + ": unknown field " + f));
    }

    // ------------------------------------------------------------------------------------------ parsing

    /**
     * fabric8's models keep unknown fields in additionalProperties (@JsonAnySetter), so even
     * FAIL_ON_UNKNOWN_PROPERTIES lets a misspelt field through. This mapper ignores the any-setter
     * on every typed model, which makes an unknown field an error; only GenericKubernetesResource
     * (kinds without a model) keeps it.
     */
    static KubernetesSerialization strictSerialization() {
        ObjectMapper mapper = new ObjectMapper();
        mapper.setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
            @Override
            public Boolean hasAnySetter(Annotated a) {
                if (a instanceof AnnotatedMember m && GenericKubernetesResource.class.isAssignableFrom(m.getDeclaringClass())) {
                    return super.hasAnySetter(a);
                }
                return Boolean.FALSE;
            }
        });
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        return new KubernetesSerialization(mapper, true);
    }

    /** Parses one object into its fabric8 type, failing on unknown fields; an Integration against its schema. */
    static HasMetadata strictlyTyped(String where, JsonNode doc) {
        assertTrue(doc.isObject(), where + ": not a mapping");
        String kind = doc.path("kind").asText();
        assertFalse(kind.isEmpty() || doc.path("apiVersion").asText().isEmpty(), where + ": apiVersion and kind are required");
        HasMetadata o;
        try {
            o = STRICT.unmarshal(STRICT.asJson(doc), HasMetadata.class);
        } catch (RuntimeException e) {
            throw new AssertionError(where + ": " + kind + " " + doc.path("metadata").path("name").asText() + ": "
                    + rootCause(e).getMessage().lines().findFirst().orElse(""), e);
        }
        if (o instanceof GenericKubernetesResource g) {
            assertEquals("Integration", kind, where + ": no typed model for " + kind);
            Set<ValidationMessage> errors = integrationSchema().validate(doc);
            assertTrue(errors.isEmpty(), where + ": " + errors);
        } else {
            Class<?> expected = TYPES.get(kind);
            assertNotNull(expected, where + ": unexpected kind " + kind);
            assertEquals(expected, o.getClass(), where + ": " + kind);
        }
        return o;
    }

    static <T> T strictly(String where, JsonNode node, Class<T> type) {
        try {
            return STRICT.unmarshal(STRICT.asJson(node), type);
        } catch (RuntimeException e) {
            throw new AssertionError(where + ": " + rootCause(e).getMessage().lines().findFirst().orElse(""), e);
        }
    }

    static JsonNode withoutPatchDirectives(JsonNode node) {
        JsonNode copy = node.deepCopy();
        strip(copy);
        return copy;
    }

    static void strip(JsonNode node) {
        if (node instanceof ObjectNode o) {
            List<String> directives = new ArrayList<>();
            o.fieldNames().forEachRemaining(f -> {
                if (f.startsWith("$")) {
                    directives.add(f);
                }
            });
            o.remove(directives);
            o.elements().forEachRemaining(Manifests::strip);
        } else if (node instanceof ArrayNode a) {
            a.elements().forEachRemaining(Manifests::strip);
        }
    }

    static JsonSchema integrationSchema() {
        try (InputStream in = Manifests.class.getResourceAsStream("/deploy/camel-k-integration.schema.json")) {
            assertNotNull(in, "camel-k-integration.schema.json");
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> readYamlDocuments(String text) throws IOException {
        // one tree per YAML document (a reader's readValues would split a top-level list into its items)
        List<JsonNode> docs = new ArrayList<>();
        try (JsonParser parser = YAML.getFactory().createParser(text)) {
            while (parser.nextToken() != null) {
                JsonNode d = YAML.readTree(parser);
                if (d != null && !d.isNull() && !d.isMissingNode() && !(d.isObject() && d.isEmpty())) {
                    docs.add(d);
                }
            }
        }
        return docs;
    }

    static JsonNode readYaml(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------------------ kustomize

    static void assumeKubectl() {
        Assumptions.assumeTrue(kubectlPath().isPresent(), "kubectl not found: kustomize build skipped");
    }

    static Optional<Path> kubectlPath() {
        return onPath("kubectl");
    }

    static Optional<Path> onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(java.io.File.pathSeparator)).map(p -> Path.of(p, command))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst();
    }

    static List<String> allBuildNames() {
        List<String> names = new ArrayList<>(OVERLAYS);
        names.addAll(new TreeSet<>(COMBINATIONS.keySet()));
        return names;
    }

    static synchronized List<HasMetadata> build(String name) {
        List<HasMetadata> cached = BUILDS.get(name);
        if (cached != null) {
            return cached;
        }
        Path dir;
        Combination combination = COMBINATIONS.get(name);
        if (combination == null) {
            dir = DEPLOY.resolve(name);
        } else {
            dir = WORK.resolve(name);
            StringBuilder k = new StringBuilder("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
            k.append("  - ").append(relative(dir, DEPLOY.resolve(combination.overlay()))).append('\n');
            k.append("components:\n");
            for (String c : combination.components()) {
                k.append("  - ").append(relative(dir, DEPLOY.resolve(c))).append('\n');
            }
            try {
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("kustomization.yaml"), k.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        String out = run(List.of(kubectlPath().orElseThrow().toString(), "kustomize", dir.toString()), ROOT);
        List<HasMetadata> docs = new ArrayList<>();
        try {
            for (JsonNode doc : readYamlDocuments(out)) {
                docs.add(strictlyTyped(name + " (kustomize output)", doc));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertFalse(docs.isEmpty(), name + ": kustomize built nothing");
        BUILDS.put(name, List.copyOf(docs));
        return BUILDS.get(name);
    }

    static String relative(Path from, Path to) {
        return from.relativize(to).toString().replace('\\', '/');
    }

    static String run(List<String> command, Path dir) {
        try {
            Path err = Files.createTempFile("deploy-test", ".err");
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectError(err.toFile()).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(command + " timed out");
            }
            String stderr = Files.readString(err);
            Files.deleteIfExists(err);
            assertEquals(0, p.exitValue(), command + " failed: " + stderr);
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------ model helpers

    static <T extends HasMetadata> T one(List<HasMetadata> docs, Class<T> type, String name) {
        List<T> found = docs.stream().filter(type::isInstance).map(type::cast).filter(d -> d.getMetadata().getName().equals(name)).toList();
        assertEquals(1, found.size(), type.getSimpleName() + " " + name + " in " + docs.stream().map(Manifests::id).toList());
        return found.get(0);
    }

    static List<PodTemplateSpec> podTemplates(List<HasMetadata> docs) {
        List<PodTemplateSpec> templates = new ArrayList<>();
        for (HasMetadata d : docs) {
            if (d instanceof StatefulSet s) {
                templates.add(s.getSpec().getTemplate());
            } else if (d instanceof Deployment dep) {
                templates.add(dep.getSpec().getTemplate());
            }
        }
        return templates;
    }

    static List<PodSpec> podSpecs(List<HasMetadata> docs) {
        return podTemplates(docs).stream().map(PodTemplateSpec::getSpec).toList();
    }

    static List<GenericKubernetesResource> integrations(List<HasMetadata> docs) {
        return docs.stream().filter(d -> d instanceof GenericKubernetesResource && d.getKind().equals("Integration"))
                .map(GenericKubernetesResource.class::cast).toList();
    }

    static JsonNode integrationSpec() {
        try {
            return readYaml(Files.readString(DEPLOY.resolve("camel-k/integration.yaml"))).path("spec");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Container> allContainers(PodSpec pod) {
        List<Container> all = new ArrayList<>(pod.getContainers());
        if (pod.getInitContainers() != null) {
            all.addAll(pod.getInitContainers());
        }
        return all;
    }

    static List<Container> prom2pgContainers(List<HasMetadata> docs) {
        return podSpecs(docs).stream().flatMap(p -> p.getContainers().stream()).filter(c -> c.getName().equals("prom2pg")).toList();
    }

    static Container container(PodSpec pod, String name) {
        return pod.getContainers().stream().filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    static EnvVar env(Container c, String name) {
        return c.getEnv() == null ? null : c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst().orElse(null);
    }

    static Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }

    /** The mount holding a path: the longest mount path that is a prefix of it. */
    static VolumeMount mountContaining(Container c, String path) {
        return c.getVolumeMounts().stream()
                .filter(m -> path.equals(m.getMountPath()) || path.startsWith(m.getMountPath().replaceAll("/$", "") + "/"))
                .max((a, b) -> Integer.compare(a.getMountPath().length(), b.getMountPath().length()))
                .orElseThrow(() -> new AssertionError(c.getName() + ": nothing mounted at " + path));
    }

    static int portNumber(Container c, String name) {
        return c.getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + ": no port " + name)).getContainerPort();
    }

    static int resolvePort(Container c, IntOrString port) {
        return port.getIntVal() != null ? port.getIntVal() : portNumber(c, port.getStrVal());
    }

    static ServicePort servicePort(Service s, String name) {
        return s.getSpec().getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("Service " + s.getMetadata().getName() + ": no port " + name));
    }

    static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        return selector != null && !selector.isEmpty() && labels != null && labels.entrySet().containsAll(selector.entrySet());
    }

    static Set<String> meteringRecords(PrometheusRule rule) {
        Set<String> records = new TreeSet<>();
        for (RuleGroup g : rule.getSpec().getGroups()) {
            for (Rule r : g.getRules()) {
                if (r.getRecord() != null) {
                    records.add(r.getRecord());
                }
            }
        }
        return records;
    }

    static List<JsonNode> findFields(JsonNode node, String field) {
        List<JsonNode> found = new ArrayList<>();
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals(field) && !e.getValue().isNull()) {
                    found.add(e.getValue());
                }
                found.addAll(findFields(e.getValue(), field));
            }
        } else if (node.isArray()) {
            node.forEach(n -> found.addAll(findFields(n, field)));
        }
        return found;
    }

    static List<String> textValues(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(n -> values.add(n.asText()));
        return values;
    }

    static Set<String> fileNames(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .collect(Collectors.toCollection(TreeSet::new));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long bytes(Quantity q) {
        return Quantity.getAmountInBytes(q).longValue();
    }

    static int intProperty(String key) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(ROOT.resolve("src/main/resources/application.properties"))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String value = p.getProperty(key);
        assertNotNull(value, "application.properties has no " + key);
        return Integer.parseInt(value.strip());
    }

    static String id(HasMetadata d) {
        return d.getKind() + "/" + d.getMetadata().getName();
    }

    static Throwable rootCause(Throwable t) {
        Throwable c = t;
        Set<Throwable> seen = new LinkedHashSet<>();
        while (c.getCause() != null && seen.add(c)) {
            c = c.getCause();
        }
        return c;
    }
}
