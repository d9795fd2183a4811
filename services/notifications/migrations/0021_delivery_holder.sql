-- Who holds a delivery's lease, and whether it still lives. A process killed (kill -9) mid-round left the mails it
-- had leased and not sent waiting out the whole lease (120 s) before another process, or itself restarted, sent
-- them. Each delivery sender now writes a row here (services/notifications/holders.py) and beats on it every few
-- seconds; a lease held by a sender whose beat is older than its own bound, or that a process started later in its
-- pid namespace found gone (its pid gone: the restarted service), is taken over at once. A live sender keeps its
-- leases however slow its mail server. `pid_space`: the boot and pid namespace its pid means something in (NULL when
-- the system cannot tell): a pid is judged gone only from within the same one.
CREATE TABLE IF NOT EXISTS delivery_holder (
    instance             text PRIMARY KEY,
    host                 text NOT NULL,
    pid                  integer NOT NULL,
    http_port            integer,
    pid_space            text,
    started_at           timestamptz NOT NULL DEFAULT now(),
    beat_at              timestamptz NOT NULL DEFAULT now(),
    stale_after_seconds  double precision NOT NULL,
    gone_at              timestamptz
);
ALTER TABLE delivery ADD COLUMN IF NOT EXISTS locked_by text;
