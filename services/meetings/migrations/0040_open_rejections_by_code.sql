-- Issue: a filtered dismissal (rpc.dismiss_rejections) selects open rejections by refusal code and time received,
-- counting them and locking them batch by batch, each time by a sequential scan of every rejection ever stored,
-- replayed and dismissed ones included. Open ones are indexed by their refusal's code and when they were received
-- (repository/ingest.py REJECTION_FILTER_COLUMNS), the index shrinking as they are closed.
CREATE INDEX IF NOT EXISTS rejection_open_by_code ON rejection ((refusal ->> 'code'), received_at)
    WHERE status = 'open';
