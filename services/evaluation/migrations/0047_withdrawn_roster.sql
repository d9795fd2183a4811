-- The rosters meetings withdrew (attendance.withdrawn.v1: the roster's own time and origin id), kept so that a
-- withdrawn roster arriving after its withdrawal is not stored: the two facts travel as separate messages and may be
-- applied in either order (CONTRACT.md: any arrival order converges), and a withdrawal applied first found nothing to
-- drop, so the roster it withdrew was then stored and scored (tests/e2e/test_backdated_member_moves.py, a roster
-- refused by a backdated move scored 5/5 present).
CREATE TABLE IF NOT EXISTS withdrawn_roster (
    meeting_id   text        NOT NULL,
    version_time timestamptz NOT NULL,
    version_ns   smallint    NOT NULL DEFAULT 0,
    version_id   text        COLLATE "C" NOT NULL,
    PRIMARY KEY (meeting_id, version_time, version_ns, version_id)
);
