"""The words of the consent ledger: what was said and how it reached us.

Kept apart from the table so that other domains (cookies, newsletter, backup) can name an
action or a channel without importing the ledger's model.
"""

from __future__ import annotations

from enum import StrEnum


class ConsentAction(StrEnum):
    """What was said: agree, confirm an agreement (double opt-in), take it back, object."""

    GRANT = "grant"
    CONFIRM = "confirm"
    WITHDRAW = "withdraw"
    OBJECT = "object"


class ConsentChannel(StrEnum):
    """How it reached us; `gpc` is a Global Privacy Control or Do-Not-Track signal."""

    WEB = "web"
    POST = "post"
    FAX = "fax"
    EMAIL = "email"
    PHONE = "phone"
    API = "api"
    GPC = "gpc"
