"""The newsletter: double opt-in sign-up, confirmation, issues, one-click unsubscribe (C18, C19)."""
