-- Issue: an event refused again under the same (source, id) (a secretary's form sent twice, a feed's copy resent, a
-- replay's hold run out) stored a second rejection of it beside the first (a person's command, stored closed, was
-- never refreshed) and published a second ingest.rejected.v1. CONTRACT.md: the pair identifies the event, so it now
-- has one rejection, refreshed by each copy refused again and published once (repository/ingest.py reject).
-- Rejections stored twice before keep one: the standing one (open, then a person's command answered on its form),
-- else the latest received; the others go. A body that named no event (no id) is not an event's: each stays.
DELETE FROM rejection AS gone
    USING (
        SELECT rejection_id, row_number() OVER (
            PARTITION BY source, event_id
            ORDER BY status = 'open' DESC,
                     (status = 'dismissed' AND dismissal_reason = 'answered to the person on the form') DESC,
                     received_at DESC, rejection_id
        ) AS rank
        FROM rejection WHERE event_id <> ''
    ) AS ranked
    WHERE gone.rejection_id = ranked.rejection_id AND ranked.rank > 1;
DROP INDEX IF EXISTS rejection_identity;
CREATE UNIQUE INDEX rejection_identity ON rejection (source, event_id) WHERE event_id <> '';
