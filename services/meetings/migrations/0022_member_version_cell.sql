-- Issue: a cell's members at a meeting's start (list_members_at, and ListMembersAfter's pages at a moment) look the
-- cell's members up in member_version by cell_id, which no index led with: every page scanned the whole history of
-- every member of the province (5,000 members with history: each page of 1,000 read all their versions and more).
-- With (cell_id, member_id) a page reads the index entries of its own next members only, in member_id order.
CREATE INDEX IF NOT EXISTS member_version_cell ON member_version (cell_id, member_id);
