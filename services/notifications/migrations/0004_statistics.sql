-- Texts shown to people, never filtered, joined or sorted on: no planner statistics for them. The maintenance
-- (shared/statistics.py) analyzes these tables as a spike grows them, and sorting their long texts was most of
-- an ANALYZE: 63,000 notifications 1.3-2.0 s, 0.6 s without (load ~15).
ALTER TABLE notification
    ALTER COLUMN recipient_name SET STATISTICS 0,
    ALTER COLUMN recipient_emails SET STATISTICS 0,
    ALTER COLUMN recipient_phone SET STATISTICS 0,
    ALTER COLUMN title SET STATISTICS 0,
    ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE delivery
    ALTER COLUMN addresses SET STATISTICS 0,
    ALTER COLUMN last_error SET STATISTICS 0;
ALTER TABLE delivery_log ALTER COLUMN error SET STATISTICS 0;
