package io.prom2pg.deploy;

import static io.prom2pg.deploy.Manifests.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.openshift.api.model.monitoring.v1.Prometheus;
import org.junit.jupiter.api.Test;

/**
 * Offline checks of the Kubernetes and OpenShift deployment in {@code deploy/}: what the pods may do: OpenShift's restricted-v2 SCC without fixed uids, fixed non-root uids
 * on Kubernetes, requests and limits on every container, database credentials from the Secret,
 * TLS from the service CA Secret where prom2pg runs.
 * The kustomize builds need {@code kubectl} on the PATH and are skipped without it.
 */
class DeploySecurityTest {


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
}
