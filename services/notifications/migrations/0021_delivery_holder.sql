-- Who holds a delivery's lease, and whether it still lives. A process killed (kill -9) mid-round left the mails it
-- had leased and not sent waiting out the whole lease (120 s) before another process, or itself restarted, sent
-- them. Each delivery sender now writes a row here (services/notifications/holders.py) and beats on it every few
-- seconds; a lease held by a sender whose beat is older than its own bound, or that a restart on its host and port
-- found gone, is taken over at once. A live sender keeps its leases however slow its mail server.
CREATE TABLE IF NOT EXISTS delivery_holder (
    instance             text PRIMARY KEY,
    host                 text NOT NULL,
    pid                  integer NOT NULL,
    http_port            integer,
    started_at           timestamptz NOT NULL DEFAULT now(),
    beat_at              timestamptz NOT NULL DEFAULT now(),
    stale_after_seconds  double precision NOT NULL,
    gone_at              timestamptz
);
ALTER TABLE delivery ADD COLUMN IF NOT EXISTS locked_by text;
