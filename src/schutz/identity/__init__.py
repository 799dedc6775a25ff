"""Who may act: staff users with passwords and sessions, and API keys for integrations."""
