-- The AMQP message a rejected event came in, by its `message_id` property (the message's own id: for a batch or a
-- copy it is not the CloudEvents id of any event in it), so an operator can find that message among the broker's
-- dead letters and logs (`message_id` there). A held event keeps it too, for the rejection its hold may end in.
-- NULL: it came otherwise (the HTTP route, a secretary's command, a replay), its message had none, or it was stored
-- before this column.
ALTER TABLE rejection ADD COLUMN message_id text;
ALTER TABLE held_event ADD COLUMN message_id text;
