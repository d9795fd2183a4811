-- Snapshots compete by `time`, then by id (CONTRACT.md), and RFC 3339 gives a time up to nine fraction digits; a
-- timestamptz keeps six, so two snapshots 100 ns apart tied and the higher id won instead of the later time. Each
-- stored version time gets the nanoseconds below its microsecond (0-999, shared.envelope.sub_microsecond) beside it,
-- and the guards compare (time, ns, id). The versions stored before keep 0: their digits below the microsecond were
-- never kept.
ALTER TABLE org_unit ADD COLUMN version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE member_version ADD COLUMN effective_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE member ADD COLUMN version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE monitor_assignment ADD COLUMN version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE meeting
    ADD COLUMN schedule_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN start_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN location_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN cancel_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN approval_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE roster ADD COLUMN version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE minutes ADD COLUMN version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE task_completion ADD COLUMN version_ns smallint NOT NULL DEFAULT 0;
-- assessments accumulate; within a role the latest wins (DOMAIN.md), as the meeting's page lists them oldest first
ALTER TABLE assessment ADD COLUMN assessed_ns smallint NOT NULL DEFAULT 0;
