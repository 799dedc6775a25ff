"""The bundled 2026-11 policy with the vocabulary example of docs/examples/vocabulary.yaml
merged in (mappings merge, lists extend), as text, as a `Policy` and as a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.loader import parse_policy
from schutz.policy.schema import Policy

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "vocabulary.yaml"


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in extra.items()}}
    if isinstance(base, list) and isinstance(extra, list):
        return base + extra
    return extra


def vocabulary_data(**override: Any) -> dict[str, Any]:
    """The merged policy as data; `override` replaces top-level sections afterwards."""
    base = yaml.safe_load((BUNDLED_POLICY_DIR / "gigaset-2026-11.yaml").read_text("utf-8"))
    merged = _merge(base, yaml.safe_load(EXAMPLE.read_text("utf-8")))
    merged.update(override)
    return dict(merged)


def vocabulary_text(**override: Any) -> str:
    return yaml.safe_dump(vocabulary_data(**override), allow_unicode=True, sort_keys=False)


def vocabulary_policy(**override: Any) -> Policy:
    return parse_policy(vocabulary_text(**override), "vocabulary.yaml")


def write_vocabulary_policy(directory: Path) -> Path:
    """A policy directory holding only the merged version; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "gigaset-2026-11.yaml").write_text(vocabulary_text(), encoding="utf-8")
    return directory
