-- Leader leases of Prometheus HA clusters: one row per cluster, the replica whose writes are stored.
CREATE TABLE ${schema}.ha_leases (
    cluster     text        PRIMARY KEY,
    leader      text        NOT NULL,
    lease_until timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
