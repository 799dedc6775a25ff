"""The roles staff users and API keys carry; roles decide purposes (see the policy)."""

from __future__ import annotations

from typing import Final

STAFF_ROLES: Final = ("support", "fulfilment", "marketing", "dpo", "admin")
API_KEY_ROLES: Final = ("shop", *STAFF_ROLES)
