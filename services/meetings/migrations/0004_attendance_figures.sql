-- Issue 12: member.attendance.updated.v1 goes out only when a member's figures change. The figures last
-- announced for each member (numbered 0004 to follow 0003_released_holds of the partitioned ingest).
CREATE TABLE IF NOT EXISTS attendance_figures (
    member_id text PRIMARY KEY,
    consecutive_absences integer NOT NULL,
    consecutive_excused_absences integer NOT NULL,
    unexcused_months_last_year integer NOT NULL,
    announced_at timestamptz NOT NULL DEFAULT now()
);
