-- The meeting whose roster moved a member's announced figures (member.attendance.updated.v1's meeting_id). A trial's
-- 4 members crossing an absence threshold at one meeting mailed each recipient 4 times: the absence rules now tell
-- each recipient once per meeting of every member who crossed at it, and a later crossing at the same meeting (a
-- corrected roster) in one follow-up; the meeting of an alert's anchor figure says which meeting it was and whether
-- its alert went out already. '' for figures stored before: their alerts stay one per member, as they were.
ALTER TABLE member_figures ADD COLUMN IF NOT EXISTS meeting_id text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS member_figures_meeting ON member_figures (meeting_id) WHERE run_alerted OR months_alerted;
