-- The moment a web form's command was first sent (published_at, approved_at, a task's completion day when the form
-- leaves it empty), by the command's event id (derived from the form's one-time key and what it asks): the same form
-- sent again stamps the same moment, so it is the same event, content and all, which meetings answers as a plain
-- duplicate (a new moment made it another event under the same id: an `id_reused` rejection on the operators' page).
-- Rows older than a web session are purged: a form outlives its session's CSRF token by no request.
CREATE TABLE IF NOT EXISTS web_form_moment (
    event_id  text        PRIMARY KEY,
    sent_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS web_form_moment_sent_at ON web_form_moment (sent_at);
