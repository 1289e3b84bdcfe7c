-- The newest sample time the leader of an HA cluster has stored: a follower's request is
-- acknowledged only when it is no newer.
ALTER TABLE ${schema}.ha_leases ADD COLUMN leader_time timestamptz;
