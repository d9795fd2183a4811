-- Issue: a rejection an operator dismissed (or a person's command answered on its form), whose event was then sent
-- again fixed under the same (source, id) and accepted, kept reading `dismissed` with `replay_outcome` null, so the
-- dismissed list showed as dropped events that were in (an operator trial, t70-x2, t70-x14). An accepted event now
-- closes its open or dismissed rejection as replayed, outcome `accepted`, the dismissal's who, when and why kept
-- (repository/ingest.py SUPERSEDED_STATUSES; docs/integrations.md "Idempotency"). The rejections left so before are
-- closed the same way here, once: dismissed, no replay outcome, and their event taken in since, which is
-- - its inbox row (processed_message of the ingest consumer; a rejection forgets its event's own row) with no hold
--   left (a held fix is not in yet; one applied lost its hold), and
-- - no refused attempt of the rejection received at or after that row was recorded, nor a latest attempt refused
--   `id_reused` (the row is then an earlier event's: a copy refused after the event was in stays dismissed, as it
--   does when it comes today).
-- When it was accepted is not kept: `replayed_at` is the earliest moment known, when its inbox row was recorded or,
-- for a fix held before the dismissal and applied after it, when it was dismissed. Nothing is published (closing a
-- rejection never is). An inbox row pruned by CHIBO_PROCESSED_RETENTION_DAYS (unset for meetings) leaves it as is.
UPDATE rejection AS r
    SET status = 'replayed', replay_outcome = 'accepted', replayed_at = greatest(p.processed_at, r.dismissed_at)
    FROM processed_message AS p
    WHERE p.consumer = 'meetings.ingest' AND p.source = r.source AND p.event_id = r.event_id
      AND r.event_id <> '' AND r.status = 'dismissed' AND r.replay_outcome IS NULL
      AND r.received_at < p.processed_at
      AND NOT EXISTS (SELECT 1 FROM held_event AS h WHERE h.source = r.source AND h.event_id = r.event_id)
      AND NOT EXISTS (
          SELECT 1 FROM rejection_attempt AS a WHERE a.rejection_id = r.rejection_id AND a.received_at >= p.processed_at
      )
      AND (
          SELECT a.refusal ->> 'code' FROM rejection_attempt AS a
          WHERE a.rejection_id = r.rejection_id ORDER BY a.attempt DESC LIMIT 1
      ) IS DISTINCT FROM 'id_reused';
