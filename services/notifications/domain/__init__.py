"""The pure core of notifications: who is who, the alert rules, their settings and periods."""
