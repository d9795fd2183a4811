-- The greeting of a mail that serves several recipients at one address (members sharing a cell's mailbox): the
-- address gets one mail per alert (mail_address), carried by the first recipient's delivery, and that mail greets
-- every recipient it serves by name ("Kính gửi các đồng chí A, B,") instead of the first one's own greeting. NULL:
-- the notification's own text, as before. Only the greeting line is kept here, so a notification's text revised
-- while its mail waits still goes out revised.
ALTER TABLE delivery ADD COLUMN IF NOT EXISTS greeting text;
