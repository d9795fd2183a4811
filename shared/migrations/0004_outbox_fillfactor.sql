-- Every outbox row is written twice: inserted with its event, then updated once the broker confirmed it
-- (published_at). That update cannot be HOT (published_at is in the partial indexes' predicates), and on a full page
-- its new version lands on another page, so the WAL carried the whole row again: as many bytes as the insert (issue 12,
-- province-year at scale 0.03: 66 MB of the run's 311 MB of WAL). With half of each page kept free, the new version
-- stays on its page and PostgreSQL logs only the bytes that changed (prefix/suffix compression of a same-page update):
-- the update's WAL falls by about 70 %, and the table grows no larger (the new versions took pages of their own
-- before). Applies to pages filled from now on.
ALTER TABLE outbox SET (fillfactor = 50);
