"""The tamper-evident audit log: a SHA-256 hash chain over every state change."""
