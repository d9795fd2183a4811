-- One mail per address per alert: the e-mail addresses an alert (rule, subject, period) was planned to, each held by
-- the notification whose delivery carries it. Members sharing a mailbox (a cell's common address) are distinct
-- recipients, each with a notification and an inbox notice, but the address gets the alert once: the first recipient
-- planned holds it and the others' e-mail deliveries leave it out. Kept in the database, so a redelivered fact, a
-- restart or an alert raised later for one more recipient finds the address taken and mails it nothing again.
-- Addresses are kept lower-case (as mail systems compare them).
CREATE TABLE IF NOT EXISTS mail_address (
    rule             text NOT NULL,
    subject_id       text NOT NULL,
    period           text NOT NULL,
    address          text NOT NULL,
    notification_id  uuid NOT NULL REFERENCES notification (id),
    PRIMARY KEY (rule, subject_id, period, address)
);
