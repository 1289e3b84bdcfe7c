package io.prom2pg.deploy;

import static io.prom2pg.deploy.Manifests.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.networknt.schema.ValidationMessage;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import org.junit.jupiter.api.Test;

/**
 * Offline checks of the Kubernetes and OpenShift deployment in {@code deploy/}: every overlay (and component combination) builds with kustomize, every manifest parses
 * strictly into its fabric8 type, and a misspelt field fails.
 * The kustomize builds need {@code kubectl} on the PATH and are skipped without it.
 */
class DeployManifestsTest {

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
}
