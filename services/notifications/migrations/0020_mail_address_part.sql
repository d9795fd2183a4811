-- One mail per address per alert and per text: a mailbox that holds two roles of one alert (a cell's upper-level
-- monitor sharing an address with a member of the cell) gets each role's own text once, the members' notice and the
-- monitor's (templates.MONITOR_BODIES), where the first recipient planned held the address for the alert alone and the
-- others' text never reached it. `part` names the text ('' the alert's common one, 'monitor' a monitor's own:
-- templates.mail_part); rows held before it are the common text's.
ALTER TABLE mail_address ADD COLUMN IF NOT EXISTS part text NOT NULL DEFAULT '';
ALTER TABLE mail_address DROP CONSTRAINT IF EXISTS mail_address_pkey;
ALTER TABLE mail_address ADD CONSTRAINT mail_address_pkey PRIMARY KEY (rule, subject_id, period, address, part);
