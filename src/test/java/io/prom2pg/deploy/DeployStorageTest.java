package io.prom2pg.deploy;

import static io.prom2pg.deploy.Manifests.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.Test;

/**
 * Offline checks of the Kubernetes and OpenShift deployment in {@code deploy/}: where PostgreSQL keeps its data: PGDATA in a subdirectory of the volume, pg_wal on a volume of
 * its own, lz4 WAL compression wherever PostgreSQL runs, several receivers on one database.
 * The kustomize builds need {@code kubectl} on the PATH and are skipped without it.
 */
class DeployStorageTest {


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
}
