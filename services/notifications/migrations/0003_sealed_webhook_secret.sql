-- Per-recipient webhook secrets are stored sealed (Fernet under CHIBO_SECRET_KEY). Secrets stored in plain text
-- before this migration are sealed, and their plain column cleared, by the service at start-up.
ALTER TABLE preference ADD COLUMN webhook_secret_sealed text;
