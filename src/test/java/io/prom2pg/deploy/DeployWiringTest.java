package io.prom2pg.deploy;

import static io.prom2pg.deploy.Manifests.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.ValidationMessage;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.Prometheus;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.RemoteWriteSpec;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Offline checks of the Kubernetes and OpenShift deployment in {@code deploy/}: how the pieces meet: probes on the management port, Services on prom2pg's ports, auth and
 * route configuration mounted where prom2pg runs, the remote write examples pointing at the
 * Service, the same routes under Camel K, and the image built from the jar, routes and start script.
 * The kustomize builds need {@code kubectl} on the PATH and are skipped without it.
 */
class DeployWiringTest {


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
}
