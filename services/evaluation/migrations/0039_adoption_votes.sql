-- An adoption's votes (minutes.approved.v1 `votes_for`, `votes_against`; CONTRACT.md: optional): DOMAIN.md's
-- `closing.minutes_and_tasks` counts minutes adopted by the cell's vote, and an integration's adoption without votes
-- scored full. Evaluation keeps them with the adoption from now on (votes_carried true on every row written). Rows
-- stored before this release keep votes_carried false: their votes were not kept, so they are unknown (not absent)
-- and the adoption counts as it did (docs/architecture.md "An adoption's votes") until a newer adoption of the
-- meeting is stored with its votes. Nothing is rescored: no stored score changes.
ALTER TABLE approval
    ADD COLUMN IF NOT EXISTS votes_for integer,
    ADD COLUMN IF NOT EXISTS votes_against integer,
    ADD COLUMN IF NOT EXISTS votes_carried boolean NOT NULL DEFAULT false;
