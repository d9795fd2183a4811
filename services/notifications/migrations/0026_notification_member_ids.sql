-- The members a notice about members names (an absence alert's absentees, or the members crossing an absence rule
-- at a meeting), by id: a correction then finds every notice naming a member it takes back, a follow-up ("Bổ sung…")
-- among them, whose period keeps only a digest of the ids it adds. NULL for a notice naming no member and for those
-- stored before this column (a correction treats them as before).
ALTER TABLE notification ADD COLUMN IF NOT EXISTS member_ids text[];
