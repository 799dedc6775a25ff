"""Who is acting: what the edges hand to services and what the audit log names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Actor:
    """An authenticated caller. `label` is what audit entries record ("apikey:shop-1")."""

    kind: Literal["apikey", "staff", "cli", "system"]
    id: str
    role: str
    label: str

    def has_role(self, *roles: str) -> bool:
        return not roles or self.role in roles
