-- Issue: a hold on an id outside a scoped account's subtree stored only the operator's reason ("meeting X (in cell Y)
-- lies outside Z"), and its expiry published that on chibo.events, which anyone may bind to (docs/security.md: only
-- the stored hold, the operator page and the log may say so). The reason the sender was answered is kept beside it
-- (NULL: the same as `reason`) and is what every public event and answer to the sender says.
ALTER TABLE held_event ADD COLUMN IF NOT EXISTS answer text;
-- holds made before: the sender's answer is the unknown-id wording of what the hold waits for (handlers/scope.py)
UPDATE held_event SET answer = CASE split_part(waiting_for, ':', 1)
        WHEN 'meeting' THEN 'data.meeting_id: meeting ' || substr(waiting_for, 9) || ' is not scheduled'
        ELSE coalesce(field, 'data') || ': ' || split_part(waiting_for, ':', 1) || ' '
            || substr(waiting_for, length(split_part(waiting_for, ':', 1)) + 2) || ' is unknown'
    END
    WHERE answer IS NULL AND reason LIKE '%the only subtree this account may write%';
