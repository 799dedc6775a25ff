"""Outgoing mail and other deliveries: the outbox table, SMTP and the embedded .eml folder."""
