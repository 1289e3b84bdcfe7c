package io.prom2pg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
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
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.Prometheus;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.RelabelConfig;
import io.fabric8.openshift.api.model.monitoring.v1.RemoteWriteSpec;
import io.fabric8.openshift.api.model.monitoring.v1.Rule;
import io.fabric8.openshift.api.model.monitoring.v1.RuleGroup;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Offline checks of the Kubernetes and OpenShift deployment in {@code deploy/}: every overlay builds
 * with kustomize, every manifest parses strictly into its fabric8 type (a misspelt field fails),
 * the OpenShift output runs under the restricted-v2 SCC without fixed uids, probes, ports,
 * credentials and Services fit prom2pg's settings, and the remote write examples point at the
 * Service the manifests create. The kustomize builds need {@code kubectl} on the PATH and are
 * skipped without it.
 */
class DeployManifestsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path DEPLOY = ROOT.resolve("deploy");
    private static final Path WORK = ROOT.resolve("target/deploy-test");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final KubernetesSerialization STRICT = strictSerialization();

    private static final String PROM2PG_IMAGE = "ghcr.io/prom2pg/prom2pg";
    private static final String DB_SECRET = "prom2pg-db";

    /** Overlays a platform engineer applies, by directory under deploy/. */
    private static final List<String> OVERLAYS = List.of(
            "overlays/openshift", "overlays/kubernetes", "overlays/receivers", "overlays/kubernetes-receivers", "camel-k");

    /** Components, each built on top of an overlay in a kustomization written under target/. */
    private static final Map<String, Combination> COMBINATIONS = Map.of(
            "openshift+pg-wal", new Combination("overlays/openshift", List.of("components/pg-wal")),
            "openshift+timescaledb", new Combination("overlays/openshift", List.of("components/timescaledb")),
            "openshift+auth+routes-config", new Combination("overlays/openshift", List.of("components/auth", "components/routes-config")),
            "receivers+auth+routes-config", new Combination("overlays/receivers", List.of("components/auth", "components/routes-config")),
            "openshift+tls", new Combination("overlays/openshift", List.of("components/tls")),
            "receivers+tls", new Combination("overlays/receivers", List.of("components/tls")));

    /** Builds that must run under OpenShift's restricted-v2 SCC: no fixed uid, gid or fsGroup. */
    private static final List<String> OPENSHIFT_BUILDS = List.of(
            "overlays/openshift", "overlays/receivers", "camel-k",
            "openshift+pg-wal", "openshift+timescaledb", "openshift+auth+routes-config", "receivers+auth+routes-config", "openshift+tls", "receivers+tls");

    /** Fields of OpenShift's RemoteWriteSpec in cluster-monitoring-config (monv1.RemoteWriteSpec without bearerToken). */
    private static final Set<String> OPENSHIFT_REMOTE_WRITE_FIELDS = Set.of("authorization", "basicAuth", "bearerTokenFile",
            "headers", "metadataConfig", "name", "oauth2", "proxyUrl", "queueConfig", "remoteTimeout", "sendExemplars", "sigv4",
            "tlsConfig", "url", "writeRelabelConfigs");

    private static final Set<String> KUSTOMIZATION_FIELDS = Set.of("apiVersion", "kind", "metadata", "namespace", "namePrefix",
            "nameSuffix", "labels", "commonLabels", "commonAnnotations", "resources", "components", "patches",
            "configMapGenerator", "secretGenerator", "generatorOptions", "images", "replicas", "replacements", "configurations",
            "crds", "openapi", "transformers", "generators", "validators", "buildMetadata", "sortOptions", "helmCharts");

    private static final Map<String, Class<?>> TYPES = Map.ofEntries(
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

    private static final Map<String, List<HasMetadata>> BUILDS = new LinkedHashMap<>();

    private record Combination(String overlay, List<String> components) {
    }

    // ------------------------------------------------------------------------------------------ builds

    @Test
    void should_build_every_overlay_with_kustomize() {
        assumeKubectl();
        for (String name : allBuildNames()) {
            List<HasMetadata> docs = build(name);
            Set<String> kinds = docs.stream().map(HasMetadata::getKind).collect(Collectors.toSet());
            assertTrue(kinds.containsAll(Set.of("Secret", "Service", "StatefulSet", "ServiceMonitor", "PrometheusRule")),
                    name + ": kinds " + kinds);
            for (HasMetadata d : docs) {
                if (!(d instanceof Namespace)) {
                    assertEquals("prom2pg", d.getMetadata().getNamespace(), name + ": namespace of " + id(d));
                }
            }
        }
    }

    @Test
    void should_parse_every_manifest_strictly() throws IOException {
        Set<Path> patches = new TreeSet<>();
        Set<Path> configurations = new TreeSet<>();
        List<Path> kustomizations;
        try (Stream<Path> files = Files.walk(DEPLOY)) {
            kustomizations = files.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).sorted().toList();
        }
        assertFalse(kustomizations.isEmpty(), "no kustomization.yaml under deploy/");
        for (Path k : kustomizations) {
            checkKustomization(k, patches, configurations);
        }
        List<Path> yamlFiles;
        try (Stream<Path> files = Files.walk(DEPLOY)) {
            yamlFiles = files.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .filter(p -> !p.startsWith(DEPLOY.resolve("tests")))
                    // Grafana's own provisioning format, not a Kubernetes object (DeployDashboardsTest reads it)
                    .filter(p -> !p.startsWith(DEPLOY.resolve("grafana/provisioning")))
                    .filter(p -> !p.getFileName().toString().equals("kustomization.yaml"))
                    .sorted().toList();
        }
        int objects = 0;
        for (Path file : yamlFiles) {
            String where = ROOT.relativize(file).toString();
            List<JsonNode> docs = readYamlDocuments(Files.readString(file));
            assertFalse(docs.isEmpty(), where + ": empty");
            if (configurations.contains(file)) {
                checkTransformerConfiguration(where, docs.get(0));
            } else if (patches.contains(file) && docs.get(0).isArray()) {
                checkJsonPatch(where, (ArrayNode) docs.get(0));
            } else {
                for (JsonNode doc : docs) {
                    JsonNode tree = patches.contains(file) ? withoutPatchDirectives(doc) : doc;
                    strictlyTyped(where, tree);
                    objects++;
                }
            }
        }
        assertTrue(objects >= 10, "objects parsed: " + objects);

        if (kubectlPath().isPresent()) {
            for (String name : allBuildNames()) {
                for (HasMetadata d : build(name)) {
                    Class<?> expected = TYPES.get(d.getKind());
                    if (expected != null) {
                        assertEquals(expected, d.getClass(), name + ": " + id(d));
                    } else {
                        assertEquals("Integration", d.getKind(), name + ": no typed model for " + id(d));
                    }
                }
            }
        }
    }

    @Test
    void should_reject_a_misspelt_field() {
        String deployment = """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: misspelt
                spec:
                  template:
                    spec:
                      containerz:
                        - name: prom2pg
                          image: ghcr.io/prom2pg/prom2pg:0.1.0
                """;
        AssertionError e = assertThrows(AssertionError.class, () -> strictlyTyped("deployment with containerz", readYaml(deployment)));
        assertTrue(String.valueOf(rootCause(e).getMessage()).contains("containerz"), e.toString());

        String serviceMonitor = """
                apiVersion: monitoring.coreos.com/v1
                kind: ServiceMonitor
                metadata:
                  name: misspelt
                spec:
                  endpoints:
                    - port: metrics
                      pathh: /observe/metrics
                """;
        e = assertThrows(AssertionError.class, () -> strictlyTyped("servicemonitor with pathh", readYaml(serviceMonitor)));
        assertTrue(String.valueOf(rootCause(e).getMessage()).contains("pathh"), e.toString());

        // the lenient default mapper would have kept it in additionalProperties
        Deployment lenient = new KubernetesSerialization().unmarshal(deployment, Deployment.class);
        assertTrue(lenient.getSpec().getTemplate().getSpec().getAdditionalProperties().containsKey("containerz"));

        String integration = """
                apiVersion: camel.apache.org/v1
                kind: Integration
                metadata:
                  name: misspelt
                spec:
                  traits:
                    container:
                      imagee: ghcr.io/prom2pg/prom2pg:0.1.0
                """;
        Set<ValidationMessage> errors = integrationSchema().validate(readYaml(integration));
        assertFalse(errors.isEmpty(), "a misspelt trait property passes the Integration schema");
    }

    // ------------------------------------------------------------------------------------------ security

    @Test
    void should_run_under_restricted_v2_without_fixed_uids() throws IOException {
        Map<String, List<HasMetadata>> outputs = new LinkedHashMap<>();
        if (kubectlPath().isPresent()) {
            OPENSHIFT_BUILDS.forEach(name -> outputs.put(name, build(name)));
        } else {
            // without kustomize, at least the workloads as written (the OpenShift overlay adds no security settings)
            for (String file : List.of("base/statefulset.yaml", "components/receivers/deployment.yaml")) {
                List<HasMetadata> docs = new ArrayList<>();
                for (JsonNode doc : readYamlDocuments(Files.readString(DEPLOY.resolve(file)))) {
                    docs.add(strictlyTyped(file, doc));
                }
                outputs.put(file, docs);
            }
        }
        for (Map.Entry<String, List<HasMetadata>> output : outputs.entrySet()) {
            String name = output.getKey();
            List<HasMetadata> docs = output.getValue();
            for (HasMetadata d : docs) {
                JsonNode tree = readYaml(STRICT.asJson(d));
                for (String field : List.of("runAsUser", "runAsGroup", "fsGroup", "supplementalGroups")) {
                    assertTrue(findFields(tree, field).isEmpty(), name + ": " + id(d) + " sets " + field);
                }
            }
            List<PodSpec> pods = podSpecs(docs);
            assertFalse(pods.isEmpty(), name + ": no pod templates");
            for (PodSpec pod : pods) {
                checkRestricted(name, pod);
            }
            for (GenericKubernetesResource it : integrations(docs)) {
                JsonNode container = YAML.valueToTree(it.getAdditionalProperties()).path("spec").path("traits").path("container");
                assertTrue(container.path("runAsNonRoot").asBoolean(false), name + ": Integration runAsNonRoot");
                assertFalse(container.path("allowPrivilegeEscalation").asBoolean(true), name + ": Integration allowPrivilegeEscalation");
                assertTrue(textValues(container.path("capabilitiesDrop")).contains("ALL"), name + ": Integration capabilities drop ALL");
                assertEquals("RuntimeDefault", container.path("seccompProfileType").asText(), name + ": Integration seccomp");
                assertTrue(container.path("runAsUser").isMissingNode(), name + ": Integration runAsUser");
            }
        }
    }

    @Test
    void should_keep_pgdata_in_a_subdirectory_of_the_data_volume() {
        assumeKubectl();
        for (String name : allBuildNames()) {
            StatefulSet sts = one(build(name), StatefulSet.class, "prom2pg");
            Set<String> claims = sts.getSpec().getVolumeClaimTemplates().stream().map(c -> c.getMetadata().getName())
                    .collect(Collectors.toSet());
            PodSpec pod = sts.getSpec().getTemplate().getSpec();
            Container pg = container(pod, "postgresql");
            String pgdata = env(pg, "PGDATA").getValue();
            assertNotNull(pgdata, name + ": PGDATA");
            VolumeMount data = mountContaining(pg, pgdata);
            assertTrue(claims.contains(data.getName()), name + ": PGDATA is not on a volume claim: " + data.getName());
            assertTrue(pgdata.startsWith(data.getMountPath().replaceAll("/$", "") + "/"), name + ": PGDATA " + pgdata
                    + " must be a subdirectory of the mount " + data.getMountPath());
            for (String dir : List.of("/tmp", "/var/run/postgresql")) {
                VolumeMount m = pg.getVolumeMounts().stream().filter(v -> v.getMountPath().equals(dir)).findFirst()
                        .orElseThrow(() -> new AssertionError(name + ": nothing mounted at " + dir));
                assertNotNull(volume(pod, m.getName()).getEmptyDir(), name + ": " + dir + " is not an emptyDir");
            }
            assertTrue(pg.getImage().startsWith("docker.io/library/postgres:") || pg.getImage().startsWith("docker.io/timescale/timescaledb:"),
                    name + ": postgres image " + pg.getImage());
            assertProbeCommand(name, pg.getReadinessProbe(), "pg_isready");
            assertProbeCommand(name, pg.getLivenessProbe(), "pg_isready");
            assertProbeCommand(name, pg.getStartupProbe(), "pg_isready");
        }
    }

    @Test
    void should_probe_the_management_port() {
        assumeKubectl();
        int management = intProperty("prom2pg.management.port");
        int http = intProperty("prom2pg.http.port");
        for (String name : allBuildNames()) {
            List<Container> prom2pgs = prom2pgContainers(build(name));
            if (name.equals("camel-k")) {
                assertTrue(prom2pgs.isEmpty(), "camel-k: prom2pg runs as the Integration, not in the StatefulSet");
                continue;
            }
            assertFalse(prom2pgs.isEmpty(), name + ": no prom2pg container");
            for (Container c : prom2pgs) {
                int port = env(c, "PROM2PG_MANAGEMENT_PORT") == null ? management : Integer.parseInt(env(c, "PROM2PG_MANAGEMENT_PORT").getValue());
                assertEquals(port, portNumber(c, "metrics"), name + ": containerPort metrics");
                assertEquals(http, portNumber(c, "http"), name + ": containerPort http");
                assertHttpProbe(name + " liveness", c, c.getLivenessProbe(), "/observe/health/live", port);
                assertHttpProbe(name + " readiness", c, c.getReadinessProbe(), "/observe/health/ready", port);
                assertHttpProbe(name + " startup", c, c.getStartupProbe(), "/observe/health/live", port);
                assertTrue(c.getImage().startsWith(PROM2PG_IMAGE + ":"), name + ": image " + c.getImage());
            }
        }
        JsonNode health = integrationSpec().path("traits").path("health");
        assertEquals("/observe/health/live", health.path("livenessProbe").asText());
        assertEquals("/observe/health/ready", health.path("readinessProbe").asText());
        assertTrue(health.path("enabled").asBoolean() && health.path("livenessProbeEnabled").asBoolean()
                && health.path("readinessProbeEnabled").asBoolean(), "Camel K health trait on");
        // the health trait probes the container trait's port
        assertEquals(management, integrationSpec().path("traits").path("container").path("port").asInt());
    }

    @Test
    void should_set_requests_and_limits_on_every_container() {
        assumeKubectl();
        for (String name : allBuildNames()) {
            for (PodSpec pod : podSpecs(build(name))) {
                for (Container c : allContainers(pod)) {
                    ResourceRequirements r = c.getResources();
                    assertNotNull(r, name + ": " + c.getName() + " has no resources");
                    for (String resource : List.of("cpu", "memory")) {
                        Quantity request = r.getRequests() == null ? null : r.getRequests().get(resource);
                        Quantity limit = r.getLimits() == null ? null : r.getLimits().get(resource);
                        assertNotNull(request, name + ": " + c.getName() + " requests." + resource);
                        assertNotNull(limit, name + ": " + c.getName() + " limits." + resource);
                        assertTrue(request.getNumericalAmount().compareTo(limit.getNumericalAmount()) <= 0,
                                name + ": " + c.getName() + " " + resource + " request above limit");
                    }
                }
                // bin/prom2pg's JVM (~300 MiB resident at 1M series, BENCHMARKS.md) must fit the limit
                for (Container c : pod.getContainers()) {
                    if (c.getName().equals("prom2pg")) {
                        assertTrue(bytes(c.getResources().getLimits().get("memory")) >= 384L << 20,
                                name + ": prom2pg memory limit below ~300 MiB resident plus headroom");
                    }
                }
            }
        }
        JsonNode container = integrationSpec().path("traits").path("container");
        for (String f : List.of("requestCPU", "requestMemory", "limitCPU", "limitMemory")) {
            assertFalse(container.path(f).asText().isEmpty(), "Integration container." + f);
        }
    }

    @Test
    void should_take_database_credentials_from_the_secret() {
        assumeKubectl();
        for (String name : allBuildNames()) {
            List<HasMetadata> docs = build(name);
            Secret secret = one(docs, Secret.class, DB_SECRET);
            Set<String> keys = new TreeSet<>();
            if (secret.getData() != null) {
                keys.addAll(secret.getData().keySet());
            }
            if (secret.getStringData() != null) {
                keys.addAll(secret.getStringData().keySet());
            }
            for (PodSpec pod : podSpecs(docs)) {
                for (Container c : allContainers(pod)) {
                    for (EnvVar e : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()) {
                        if (e.getName().toUpperCase().contains("PASSWORD")) {
                            assertTrue(e.getValue() == null && e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null,
                                    name + ": " + c.getName() + " " + e.getName() + " must come from a Secret");
                        }
                    }
                }
            }
            for (Container c : prom2pgContainers(docs)) {
                String url = env(c, "PROM2PG_DB_URL") == null ? null : env(c, "PROM2PG_DB_URL").getValue();
                assertNotNull(url, name + ": PROM2PG_DB_URL unset: prom2pg would start its embedded PostgreSQL");
                assertDatabaseUrl(name, docs, url);
                for (String var : List.of("PROM2PG_DB_USER", "PROM2PG_DB_PASSWORD")) {
                    SecretKeySelector ref = env(c, var).getValueFrom().getSecretKeyRef();
                    assertEquals(DB_SECRET, ref.getName(), name + ": " + var);
                    assertTrue(keys.contains(ref.getKey()), name + ": " + var + " key " + ref.getKey() + " not in " + keys);
                }
            }
            Container pg = container(one(docs, StatefulSet.class, "prom2pg").getSpec().getTemplate().getSpec(), "postgresql");
            for (String var : List.of("POSTGRES_USER", "POSTGRES_PASSWORD")) {
                SecretKeySelector ref = env(pg, var).getValueFrom().getSecretKeyRef();
                assertEquals(DB_SECRET, ref.getName(), name + ": " + var);
                assertTrue(keys.contains(ref.getKey()), name + ": " + var + " key " + ref.getKey());
            }
            // prom2pg and PostgreSQL use the same user and the same database
            for (Container c : prom2pgContainers(docs)) {
                assertEquals(env(pg, "POSTGRES_USER").getValueFrom().getSecretKeyRef().getKey(),
                        env(c, "PROM2PG_DB_USER").getValueFrom().getSecretKeyRef().getKey());
                assertTrue(env(c, "PROM2PG_DB_URL").getValue().endsWith("/" + env(pg, "POSTGRES_DB").getValue()), name + ": database name");
            }
        }
    }

    @Test
    void should_wire_services_to_the_prom2pg_ports() {
        assumeKubectl();
        int management = intProperty("prom2pg.management.port");
        int http = intProperty("prom2pg.http.port");
        for (String name : allBuildNames()) {
            List<HasMetadata> docs = build(name);
            Service data = one(docs, Service.class, "prom2pg");
            Service metrics = one(docs, Service.class, "prom2pg-metrics");
            assertEquals(http, servicePort(data, "http").getPort(), name + ": prom2pg Service port http");
            assertEquals(management, servicePort(metrics, "metrics").getPort(), name + ": prom2pg-metrics Service port metrics");
            if (name.equals("camel-k")) {
                GenericKubernetesResource it = integrations(docs).get(0);
                Map<String, String> podLabels = Map.of("camel.apache.org/integration", it.getMetadata().getName());
                assertTrue(selects(data.getSpec().getSelector(), podLabels), "camel-k: prom2pg Service selects the integration pods");
                assertTrue(selects(metrics.getSpec().getSelector(), podLabels), "camel-k: prom2pg-metrics selects the integration pods");
                assertEquals(http, servicePort(data, "http").getTargetPort().getIntVal());
                assertEquals(management, servicePort(metrics, "metrics").getTargetPort().getIntVal());
            } else {
                for (Service s : List.of(data, metrics)) {
                    List<PodTemplateSpec> selected = podTemplates(docs).stream()
                            .filter(t -> selects(s.getSpec().getSelector(), t.getMetadata().getLabels())).toList();
                    assertFalse(selected.isEmpty(), name + ": Service " + s.getMetadata().getName() + " selects no pods");
                    for (PodTemplateSpec t : selected) {
                        Container c = t.getSpec().getContainers().stream().filter(x -> x.getName().equals("prom2pg")).findFirst()
                                .orElseThrow(() -> new AssertionError(name + ": Service " + s.getMetadata().getName()
                                        + " selects pods without prom2pg: " + t.getMetadata().getLabels()));
                        ServicePort p = s.getSpec().getPorts().get(0);
                        assertEquals(p.getPort(), resolvePort(c, p.getTargetPort()), name + ": targetPort of " + s.getMetadata().getName());
                    }
                }
            }
            ServiceMonitor sm = one(docs, ServiceMonitor.class, "prom2pg");
            assertTrue(selects(sm.getSpec().getSelector().getMatchLabels(), metrics.getMetadata().getLabels()),
                    name + ": ServiceMonitor selects prom2pg-metrics");
            assertFalse(selects(sm.getSpec().getSelector().getMatchLabels(), data.getMetadata().getLabels()),
                    name + ": ServiceMonitor must not scrape the data port");
            Endpoint ep = sm.getSpec().getEndpoints().get(0);
            assertEquals("metrics", ep.getPort(), name + ": ServiceMonitor port");
            assertEquals("/observe/metrics", ep.getPath(), name + ": ServiceMonitor path");
            assertEquals(16, meteringRecords(one(docs, PrometheusRule.class, "metering")).size(), name + ": metering records");
        }
    }

    @Test
    void should_run_several_receivers_against_one_database() {
        assumeKubectl();
        for (String name : List.of("overlays/receivers", "overlays/kubernetes-receivers")) {
            List<HasMetadata> docs = build(name);
            Deployment receivers = one(docs, Deployment.class, "prom2pg-receiver");
            assertTrue(receivers.getSpec().getReplicas() >= 2, name + ": replicas");
            PodDisruptionBudget pdb = one(docs, PodDisruptionBudget.class, "prom2pg-receiver");
            assertTrue(selects(pdb.getSpec().getSelector().getMatchLabels(), receivers.getSpec().getTemplate().getMetadata().getLabels()),
                    name + ": PodDisruptionBudget selects the receivers");
            StatefulSet db = one(docs, StatefulSet.class, "prom2pg");
            assertEquals(List.of("postgresql"), db.getSpec().getTemplate().getSpec().getContainers().stream().map(Container::getName).toList(),
                    name + ": the StatefulSet runs PostgreSQL only");
            assertEquals(1, db.getSpec().getReplicas(), name + ": one database");
            String url = env(container(receivers.getSpec().getTemplate().getSpec(), "prom2pg"), "PROM2PG_DB_URL").getValue();
            assertFalse(url.contains("localhost"), name + ": receivers reach the database through its Service");
        }
        List<HasMetadata> sidecar = build("overlays/openshift");
        assertEquals(List.of("postgresql", "prom2pg"), one(sidecar, StatefulSet.class, "prom2pg").getSpec().getTemplate().getSpec()
                .getContainers().stream().map(Container::getName).toList(), "sidecar shape");
        assertTrue(sidecar.stream().noneMatch(d -> d instanceof Deployment), "no Deployment in the sidecar shape");
    }

    @Test
    void should_compress_the_wal_with_lz4_wherever_it_runs_postgresql() {
        assumeKubectl();
        List<String> builds = new ArrayList<>(OVERLAYS);
        builds.addAll(COMBINATIONS.keySet());
        int databases = 0;
        for (String name : builds) {
            for (PodSpec pod : podSpecs(build(name))) {
                for (Container c : pod.getContainers()) {
                    if (c.getName().equals("postgresql")) {
                        databases++;
                        // the images' entrypoint runs "postgres" with these arguments (a command would skip it)
                        assertTrue(c.getCommand() == null || c.getCommand().isEmpty(), name + ": postgresql command " + c.getCommand());
                        List<String> args = c.getArgs() == null ? List.of() : c.getArgs();
                        String last = null;
                        for (int i = 1; i < args.size(); i++) {
                            if (args.get(i - 1).equals("-c") && args.get(i).startsWith("wal_compression=")) {
                                last = args.get(i);
                            }
                        }
                        assertEquals("wal_compression=lz4", last, name + ": postgresql args " + args);
                        assertTrue(args.get(0).startsWith("-"), name + ": the entrypoint adds postgres before options");
                    }
                }
            }
        }
        assertTrue(databases >= 8, "PostgreSQL containers checked: " + databases);
    }

    @Test
    void should_use_fixed_non_root_uids_on_kubernetes() {
        assumeKubectl();
        for (String name : List.of("overlays/kubernetes", "overlays/kubernetes-receivers")) {
            List<HasMetadata> docs = build(name);
            PodSpec pod = one(docs, StatefulSet.class, "prom2pg").getSpec().getTemplate().getSpec();
            assertEquals(999L, pod.getSecurityContext().getFsGroup(), name + ": fsGroup");
            assertEquals(999L, container(pod, "postgresql").getSecurityContext().getRunAsUser(), name + ": postgres uid");
            for (Container c : prom2pgContainers(docs)) {
                assertTrue(c.getSecurityContext().getRunAsUser() != null && c.getSecurityContext().getRunAsUser() > 0,
                        name + ": prom2pg runs as a fixed non-root uid");
            }
            for (PodSpec p : podSpecs(docs)) {
                checkRestricted(name, p);
            }
            Namespace ns = one(docs, Namespace.class, "prom2pg");
            assertEquals("restricted", ns.getMetadata().getLabels().get("pod-security.kubernetes.io/enforce"), name + ": Pod Security");
        }
        List<HasMetadata> openshift = build("overlays/openshift");
        Namespace ns = one(openshift, Namespace.class, "prom2pg");
        assertEquals("true", ns.getMetadata().getLabels().get("openshift.io/cluster-monitoring"),
                "the platform Prometheus evaluates the metering rules in the prom2pg namespace");
        RoleBinding rb = one(openshift, RoleBinding.class, "prometheus-k8s");
        assertEquals("openshift-monitoring", rb.getSubjects().get(0).getNamespace(), "RoleBinding subject namespace kept");
    }

    @Test
    void should_put_pg_wal_on_its_own_volume() {
        assumeKubectl();
        StatefulSet sts = one(build("openshift+pg-wal"), StatefulSet.class, "prom2pg");
        List<String> claims = sts.getSpec().getVolumeClaimTemplates().stream().map(c -> c.getMetadata().getName()).toList();
        assertEquals(List.of("data", "wal"), claims);
        Container pg = container(sts.getSpec().getTemplate().getSpec(), "postgresql");
        String wal = env(pg, "POSTGRES_INITDB_WALDIR").getValue();
        VolumeMount m = mountContaining(pg, wal);
        assertEquals("wal", m.getName());
        assertTrue(wal.startsWith(m.getMountPath() + "/"), "the WAL directory must be a subdirectory of its mount");
        assertFalse(wal.startsWith(env(pg, "PGDATA").getValue()), "WAL outside PGDATA");

        StatefulSet timescale = one(build("openshift+timescaledb"), StatefulSet.class, "prom2pg");
        assertTrue(container(timescale.getSpec().getTemplate().getSpec(), "postgresql").getImage().startsWith("docker.io/timescale/timescaledb:"));
    }

    @Test
    void should_mount_auth_and_routes_config_only_where_prom2pg_runs() {
        assumeKubectl();
        for (String name : List.of("openshift+auth+routes-config", "receivers+auth+routes-config")) {
            List<HasMetadata> docs = build(name);
            for (PodTemplateSpec t : podTemplates(docs)) {
                for (Container c : t.getSpec().getContainers()) {
                    boolean auth = env(c, "PROM2PG_AUTH_ENABLED") != null;
                    assertEquals(c.getName().equals("prom2pg"), auth, name + ": auth settings on " + c.getName());
                    if (auth) {
                        String users = env(c, "PROM2PG_AUTH_BASIC_USERS_FILE").getValue();
                        VolumeMount m = mountContaining(c, users);
                        assertEquals("prom2pg-auth", volume(t.getSpec(), m.getName()).getSecret().getSecretName());
                        VolumeMount config = c.getVolumeMounts().stream().filter(v -> v.getMountPath().equals("/deployments/routes/config"))
                                .findFirst().orElseThrow();
                        assertEquals("prom2pg-routes-config", volume(t.getSpec(), config.getName()).getConfigMap().getName());
                    }
                }
            }
        }
    }

    @Test
    void should_serve_tls_from_the_service_ca_secret_only_where_prom2pg_runs() {
        assumeKubectl();
        for (String name : List.of("openshift+tls", "receivers+tls")) {
            List<HasMetadata> docs = build(name);
            for (PodTemplateSpec t : podTemplates(docs)) {
                for (Container c : t.getSpec().getContainers()) {
                    boolean tls = env(c, "PROM2PG_TLS_ENABLED") != null;
                    assertEquals(c.getName().equals("prom2pg"), tls, name + ": TLS settings on " + c.getName());
                    if (tls) {
                        assertEquals("true", env(c, "PROM2PG_TLS_ENABLED").getValue());
                        for (String file : List.of("PROM2PG_TLS_CERT_FILE", "PROM2PG_TLS_KEY_FILE")) {
                            VolumeMount m = mountContaining(c, env(c, file).getValue());
                            assertEquals("prom2pg-tls", volume(t.getSpec(), m.getName()).getSecret().getSecretName(), name + ": " + file);
                        }
                    }
                }
            }
            Service service = docs.stream().filter(d -> d instanceof Service && d.getMetadata().getName().equals("prom2pg"))
                    .map(Service.class::cast).findFirst().orElseThrow();
            assertEquals("prom2pg-tls", service.getMetadata().getAnnotations().get("service.beta.openshift.io/serving-cert-secret-name"),
                    name + ": the service CA is asked for the Secret the pods mount");
        }
    }

    // ------------------------------------------------------------------------------------------ remote write examples

    @Test
    void should_point_cluster_monitoring_remote_write_at_the_prom2pg_service() throws IOException {
        Path file = DEPLOY.resolve("openshift-monitoring/cluster-monitoring-config.example.yaml");
        ConfigMap cm = (ConfigMap) strictlyTyped(file.toString(), readYaml(Files.readString(file)));
        assertEquals("cluster-monitoring-config", cm.getMetadata().getName());
        assertEquals("openshift-monitoring", cm.getMetadata().getNamespace());
        JsonNode config = readYaml(cm.getData().get("config.yaml"));
        JsonNode remoteWrite = config.path("prometheusK8s").path("remoteWrite");
        assertTrue(remoteWrite.isArray() && remoteWrite.size() > 0, "prometheusK8s.remoteWrite");
        for (JsonNode entry : remoteWrite) {
            Set<String> fields = new TreeSet<>();
            entry.fieldNames().forEachRemaining(fields::add);
            assertTrue(OPENSHIFT_REMOTE_WRITE_FIELDS.containsAll(fields), "fields OpenShift does not know: " + fields);
        }
        RemoteWriteSpec spec = strictly("cluster-monitoring-config remoteWrite[0]", remoteWrite.get(0), RemoteWriteSpec.class);
        checkRemoteWrite("cluster-monitoring-config", spec, "overlays/openshift");

        Path operator = DEPLOY.resolve("prometheus-operator/prometheus-remote-write.example.yaml");
        Prometheus prometheus = (Prometheus) strictlyTyped(operator.toString(), readYaml(Files.readString(operator)));
        checkRemoteWrite("Prometheus Operator example", prometheus.getSpec().getRemoteWrite().get(0), "overlays/kubernetes");
    }

    // ------------------------------------------------------------------------------------------ Camel K and the image

    @Test
    void should_run_the_same_routes_under_camel_k() throws Exception {
        JsonNode integration = readYaml(Files.readString(DEPLOY.resolve("camel-k/integration.yaml")));
        Set<ValidationMessage> errors = integrationSchema().validate(integration);
        assertTrue(errors.isEmpty(), "deploy/camel-k/integration.yaml: " + errors);
        JsonNode traits = integration.path("spec").path("traits");
        assertTrue(traits.path("container").path("image").asText().startsWith(PROM2PG_IMAGE + ":"));
        assertTrue(integration.path("spec").path("replicas").asInt() >= 2, "replicas");

        Map<String, String> vars = new LinkedHashMap<>();
        for (String v : textValues(traits.path("environment").path("vars"))) {
            vars.put(v.substring(0, v.indexOf('=')), v.substring(v.indexOf('=') + 1));
        }
        Map<String, String> mounts = new LinkedHashMap<>(); // configmap name -> path
        for (String r : textValues(traits.path("mount").path("resources"))) {
            Matcher m = Pattern.compile("configmap:([^/@]+)@(/.+)").matcher(r);
            assertTrue(m.matches(), "mount resource " + r);
            mounts.put(m.group(1), m.group(2));
        }
        assertEquals(mounts.get("prom2pg-routes"), vars.get("PROM2PG_ROUTES_DIR"), "routes folder = prom2pg-routes mount");
        for (String file : List.of("series-rules.yaml", "views.yaml")) {
            assertTrue(Files.isRegularFile(ROOT.resolve("routes/config").resolve(file)), file);
        }
        assertEquals(mounts.get("prom2pg-routes-config") + "/series-rules.yaml", vars.get("PROM2PG_SERIES_RULES_FILE"));
        assertEquals(mounts.get("prom2pg-routes-config") + "/views.yaml", vars.get("PROM2PG_VIEWS_FILE"));
        assertEquals("file:" + mounts.get("prom2pg-settings") + "/application.properties", vars.get("CAMEL_MAIN_OVERRIDE_PROPERTIES_LOCATION"));
        assertEquals("secret:" + DB_SECRET + "/username", vars.get("PROM2PG_DB_USER"));
        assertEquals("secret:" + DB_SECRET + "/password", vars.get("PROM2PG_DB_PASSWORD"));
        assertTrue(vars.get("PROM2PG_DB_URL").startsWith("jdbc:postgresql://"), "PROM2PG_DB_URL");
        assertTrue(Files.isRegularFile(DEPLOY.resolve("camel-k/application.properties")));

        if (kubectlPath().isEmpty()) {
            Assumptions.assumeTrue(false, "kubectl not found: kustomize build skipped");
        }
        List<HasMetadata> docs = build("camel-k");
        List<GenericKubernetesResource> its = integrations(docs);
        assertEquals(1, its.size());
        JsonNode built = YAML.valueToTree(its.get(0));
        errors = integrationSchema().validate(built);
        assertTrue(errors.isEmpty(), "built Integration: " + errors);
        assertEquals("prom2pg", its.get(0).getMetadata().getNamespace());
        assertDatabaseUrl("camel-k", docs, vars.get("PROM2PG_DB_URL"));
        Secret secret = one(docs, Secret.class, DB_SECRET);
        assertTrue(secret.getData().keySet().containsAll(Set.of("username", "password")));
        ConfigMap settings = one(docs, ConfigMap.class, "prom2pg-settings");
        assertTrue(settings.getData().containsKey("application.properties"));
        assertEquals("prom2pg", settings.getMetadata().getLabels().get("camel.apache.org/integration"), "hot reload label");

        // the script that makes the routes ConfigMaps from routes/
        Optional<Path> bash = onPath("bash");
        Assumptions.assumeTrue(bash.isPresent(), "bash not found: routes-configmaps.sh skipped");
        String out = run(List.of(bash.get().toString(), DEPLOY.resolve("camel-k/routes-configmaps.sh").toString()), ROOT);
        Map<String, ConfigMap> made = new LinkedHashMap<>();
        for (JsonNode doc : readYamlDocuments(out)) {
            ConfigMap c = (ConfigMap) strictlyTyped("routes-configmaps.sh", doc);
            made.put(c.getMetadata().getName(), c);
            assertEquals("prom2pg", c.getMetadata().getLabels().get("camel.apache.org/integration"), "hot reload label");
        }
        assertEquals(Set.of("prom2pg-routes", "prom2pg-routes-config"), made.keySet());
        assertEquals(fileNames(ROOT.resolve("routes")), made.get("prom2pg-routes").getData().keySet());
        assertEquals(fileNames(ROOT.resolve("routes/config")), made.get("prom2pg-routes-config").getData().keySet());
    }

    @Test
    void should_build_the_image_from_the_jar_routes_and_start_script() throws IOException {
        String containerfile = Files.readString(DEPLOY.resolve("Containerfile"));
        List<String> lines = containerfile.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertTrue(lines.get(0).matches("FROM registry\\.access\\.redhat\\.com/ubi9/openjdk-17-runtime(:\\S+)?"), lines.get(0));
        assertTrue(lines.contains("WORKDIR /deployments"));
        for (String source : List.of("target/prom2pg.jar", "bin/prom2pg", "routes/")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("COPY") && l.contains(" " + source + " ")), "COPY " + source);
            assertTrue(Files.exists(ROOT.resolve(source.equals("target/prom2pg.jar") ? "pom.xml" : source)), source);
        }
        String user = lines.stream().filter(l -> l.startsWith("USER ")).reduce((a, b) -> b).orElseThrow().substring(5).strip();
        assertTrue(user.matches("[1-9][0-9]*"), "a numeric non-root USER (runAsNonRoot can verify it): " + user);
        String entrypoint = lines.stream().filter(l -> l.startsWith("ENTRYPOINT")).findFirst().orElseThrow();
        assertTrue(entrypoint.contains("/deployments/bin/prom2pg"), "bin/prom2pg starts the JVM with bounded memory");
        String script = Files.readString(ROOT.resolve("bin/prom2pg"));
        assertTrue(script.contains("-Xmx128m") && script.contains("target/prom2pg.jar"), "bin/prom2pg's defaults");
        int http = intProperty("prom2pg.http.port");
        int management = intProperty("prom2pg.management.port");
        assertTrue(lines.stream().anyMatch(l -> l.equals("EXPOSE " + http + " " + management)), "EXPOSE " + http + " " + management);
    }

    // ------------------------------------------------------------------------------------------ checks

    private static void checkRestricted(String name, PodSpec pod) {
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

    private static void assertHttpProbe(String where, Container c, Probe probe, String path, int port) {
        assertNotNull(probe, where + " probe missing");
        assertNotNull(probe.getHttpGet(), where + " probe is not httpGet");
        assertEquals(path, probe.getHttpGet().getPath(), where + " path");
        assertEquals(port, resolvePort(c, probe.getHttpGet().getPort()), where + " port");
    }

    private static void assertProbeCommand(String where, Probe probe, String command) {
        assertNotNull(probe, where + ": postgres probe missing");
        assertNotNull(probe.getExec(), where + ": postgres probe is not exec");
        assertTrue(String.join(" ", probe.getExec().getCommand()).contains(command), where + ": probe " + probe.getExec().getCommand());
    }

    /** A JDBC URL at localhost with PostgreSQL in the same pod, or at a Service selecting the database pods. */
    private static void assertDatabaseUrl(String name, List<HasMetadata> docs, String url) {
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

    private static void checkRemoteWrite(String where, RemoteWriteSpec spec, String overlay) throws IOException {
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

    private static void checkKustomization(Path file, Set<Path> patches, Set<Path> configurations) throws IOException {
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

    private static void checkTransformerConfiguration(String where, JsonNode config) {
        assertKeys(where, config, Set.of("images", "namePrefix", "nameSuffix", "namespace", "commonLabels", "commonAnnotations",
                "nameReference", "varReference", "replicas"));
        config.fields().forEachRemaining(e -> {
            for (JsonNode spec : e.getValue()) {
                assertKeys(where + " " + e.getKey() + "[]", spec, Set.of("path", "kind", "group", "version", "create"));
                assertFalse(spec.path("path").asText().isEmpty(), where + ": fieldSpec path");
            }
        });
    }

    private static void checkJsonPatch(String where, ArrayNode ops) {
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

    private static void assertKeys(String where, JsonNode node, Set<String> allowed) {
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
    private static KubernetesSerialization strictSerialization() {
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
    private static HasMetadata strictlyTyped(String where, JsonNode doc) {
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

    private static <T> T strictly(String where, JsonNode node, Class<T> type) {
        try {
            return STRICT.unmarshal(STRICT.asJson(node), type);
        } catch (RuntimeException e) {
            throw new AssertionError(where + ": " + rootCause(e).getMessage().lines().findFirst().orElse(""), e);
        }
    }

    private static JsonNode withoutPatchDirectives(JsonNode node) {
        JsonNode copy = node.deepCopy();
        strip(copy);
        return copy;
    }

    private static void strip(JsonNode node) {
        if (node instanceof ObjectNode o) {
            List<String> directives = new ArrayList<>();
            o.fieldNames().forEachRemaining(f -> {
                if (f.startsWith("$")) {
                    directives.add(f);
                }
            });
            o.remove(directives);
            o.elements().forEachRemaining(DeployManifestsTest::strip);
        } else if (node instanceof ArrayNode a) {
            a.elements().forEachRemaining(DeployManifestsTest::strip);
        }
    }

    private static JsonSchema integrationSchema() {
        try (InputStream in = DeployManifestsTest.class.getResourceAsStream("/deploy/camel-k-integration.schema.json")) {
            assertNotNull(in, "camel-k-integration.schema.json");
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<JsonNode> readYamlDocuments(String text) throws IOException {
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

    private static JsonNode readYaml(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------------------ kustomize

    private static void assumeKubectl() {
        Assumptions.assumeTrue(kubectlPath().isPresent(), "kubectl not found: kustomize build skipped");
    }

    private static Optional<Path> kubectlPath() {
        return onPath("kubectl");
    }

    private static Optional<Path> onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(java.io.File.pathSeparator)).map(p -> Path.of(p, command))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst();
    }

    private static List<String> allBuildNames() {
        List<String> names = new ArrayList<>(OVERLAYS);
        names.addAll(new TreeSet<>(COMBINATIONS.keySet()));
        return names;
    }

    private static synchronized List<HasMetadata> build(String name) {
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

    private static String relative(Path from, Path to) {
        return from.relativize(to).toString().replace('\\', '/');
    }

    private static String run(List<String> command, Path dir) {
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

    private static <T extends HasMetadata> T one(List<HasMetadata> docs, Class<T> type, String name) {
        List<T> found = docs.stream().filter(type::isInstance).map(type::cast).filter(d -> d.getMetadata().getName().equals(name)).toList();
        assertEquals(1, found.size(), type.getSimpleName() + " " + name + " in " + docs.stream().map(DeployManifestsTest::id).toList());
        return found.get(0);
    }

    private static List<PodTemplateSpec> podTemplates(List<HasMetadata> docs) {
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

    private static List<PodSpec> podSpecs(List<HasMetadata> docs) {
        return podTemplates(docs).stream().map(PodTemplateSpec::getSpec).toList();
    }

    private static List<GenericKubernetesResource> integrations(List<HasMetadata> docs) {
        return docs.stream().filter(d -> d instanceof GenericKubernetesResource && d.getKind().equals("Integration"))
                .map(GenericKubernetesResource.class::cast).toList();
    }

    private static JsonNode integrationSpec() {
        try {
            return readYaml(Files.readString(DEPLOY.resolve("camel-k/integration.yaml"))).path("spec");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Container> allContainers(PodSpec pod) {
        List<Container> all = new ArrayList<>(pod.getContainers());
        if (pod.getInitContainers() != null) {
            all.addAll(pod.getInitContainers());
        }
        return all;
    }

    private static List<Container> prom2pgContainers(List<HasMetadata> docs) {
        return podSpecs(docs).stream().flatMap(p -> p.getContainers().stream()).filter(c -> c.getName().equals("prom2pg")).toList();
    }

    private static Container container(PodSpec pod, String name) {
        return pod.getContainers().stream().filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    private static EnvVar env(Container c, String name) {
        return c.getEnv() == null ? null : c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst().orElse(null);
    }

    private static Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }

    /** The mount holding a path: the longest mount path that is a prefix of it. */
    private static VolumeMount mountContaining(Container c, String path) {
        return c.getVolumeMounts().stream()
                .filter(m -> path.equals(m.getMountPath()) || path.startsWith(m.getMountPath().replaceAll("/$", "") + "/"))
                .max((a, b) -> Integer.compare(a.getMountPath().length(), b.getMountPath().length()))
                .orElseThrow(() -> new AssertionError(c.getName() + ": nothing mounted at " + path));
    }

    private static int portNumber(Container c, String name) {
        return c.getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + ": no port " + name)).getContainerPort();
    }

    private static int resolvePort(Container c, IntOrString port) {
        return port.getIntVal() != null ? port.getIntVal() : portNumber(c, port.getStrVal());
    }

    private static ServicePort servicePort(Service s, String name) {
        return s.getSpec().getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("Service " + s.getMetadata().getName() + ": no port " + name));
    }

    private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        return selector != null && !selector.isEmpty() && labels != null && labels.entrySet().containsAll(selector.entrySet());
    }

    private static Set<String> meteringRecords(PrometheusRule rule) {
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

    private static List<JsonNode> findFields(JsonNode node, String field) {
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

    private static List<String> textValues(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(n -> values.add(n.asText()));
        return values;
    }

    private static Set<String> fileNames(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .collect(Collectors.toCollection(TreeSet::new));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long bytes(Quantity q) {
        return Quantity.getAmountInBytes(q).longValue();
    }

    private static int intProperty(String key) {
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

    private static String id(HasMetadata d) {
        return d.getKind() + "/" + d.getMetadata().getName();
    }

    private static Throwable rootCause(Throwable t) {
        Throwable c = t;
        Set<Throwable> seen = new LinkedHashSet<>();
        while (c.getCause() != null && seen.add(c)) {
            c = c.getCause();
        }
        return c;
    }
}
