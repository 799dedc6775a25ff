"""Domain errors: services raise these; the web and CLI edges turn them into status codes."""


class SchutzError(Exception):
    """Base of every error a user can cause; its message is safe to show (no personal data)."""


class InvalidInput(SchutzError):
    """The caller sent something the policy or schema does not accept (HTTP 422)."""


class NotFound(SchutzError):
    """The thing asked for does not exist, or must not be revealed to exist (HTTP 404)."""


class Denied(SchutzError):
    """The policy or the caller's role forbids this (HTTP 403).

    `reason` explains it to a person; `rule`, when given, names the decision engine's rule
    (`role`, `objected`, `no_consent`, `restricted`, ...) for programs to branch on.
    """

    def __init__(self, message: str, reason: str = "", rule: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.rule = rule


class Unauthenticated(SchutzError):
    """No valid credentials (HTTP 401)."""


class Conflict(SchutzError):
    """The request clashes with the current state (HTTP 409)."""


class IntegrityCheckError(SchutzError):
    """A stored ciphertext does not decrypt: it was altered, moved or its key is wrong.

    The message names the subject and the field, never a value; callers audit it and
    report it, and nothing of the ciphertext is ever returned as data.
    """
