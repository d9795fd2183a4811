-- Every attendance history announced of a member (member.attendance.updated.v1), in the order snapshots compete
-- (event time, then the event that caused it, then its own id; ids in code point order, as Python compares them). The absence rules decide over the whole sequence:
-- one alert per run of absences and per crossing of the unexcused months, the same whether the figures came one
-- by one, as one jump, late or twice. An alert is anchored on a figure (run_alerted, months_alerted), so a run
-- already told of is never told of again, while a late figure that shows it was two runs alerts the other one.
CREATE TABLE member_figures (
    member_id             text NOT NULL,
    version_time          timestamptz NOT NULL,
    cause_id              text COLLATE "C" NOT NULL,
    event_id              text COLLATE "C" NOT NULL,
    consecutive_absences  integer NOT NULL,
    unexcused_months      integer NOT NULL,
    recent                boolean NOT NULL,
    run_alerted           boolean NOT NULL DEFAULT false,
    months_alerted        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (member_id, version_time, cause_id, event_id)
);
