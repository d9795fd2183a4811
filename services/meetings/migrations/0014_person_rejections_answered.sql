-- Issue: a secretary's own form mistakes (chair absent, no majority, minutes adopted, start too far ahead) were stored
-- as open rejections and counted on the operations page and in open_rejections, though each was answered to the
-- person on the form. A person's refused command (source urn:chibo:gateway) is now stored closed, status 'dismissed'
-- with dismissal_reason 'answered to the person on the form' (repository/ingest.py ANSWERED_ON_FORM); the ones
-- stored open before are closed the same way, at their own reception.
UPDATE rejection SET status = 'dismissed', dismissed_at = received_at, dismissed_by = source,
    dismissal_reason = 'answered to the person on the form'
    WHERE status = 'open' AND source = 'urn:chibo:gateway';
