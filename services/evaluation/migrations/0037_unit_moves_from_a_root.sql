-- A root unit (no parent) put under a committee later is a move too (docs/architecture.md "A cell moved to another
-- committee"): the committees that gain its cells are told, and the note has no committee it moved from.
ALTER TABLE unit_move_change ALTER COLUMN from_parent_id DROP NOT NULL;
