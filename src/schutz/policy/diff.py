"""What changed between two policy versions, as data for the changes page and the CLI (C13)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from schutz.policy.schema import Policy

Kind = Literal["added", "removed", "changed"]

# Sections whose entries have a key of their own; cookies are keyed by their name.
KEYED_SECTIONS = (
    "purposes",
    "recipients",
    "cookies",
    "embeds",
    "sources",
    "categories",
    "fields",
    "legal_holds",
)
# Sections that are one object each; "general" gathers top-level fields worth reporting.
SINGLE_SECTIONS = ("controller", "analytics", "newsletter", "rights", "general")
_GENERAL = ("objection_channels",)
_LANG_SUFFIXES = (".en", ".de")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One value that differs; `path` is dotted (`retention.period`), lists compare whole."""

    path: str
    old: Any
    new: Any

    @property
    def added_items(self) -> tuple[Any, ...]:
        """For list values: the items only `new` has."""
        if isinstance(self.old, list) and isinstance(self.new, list):
            return tuple(i for i in self.new if i not in self.old)
        return ()

    @property
    def removed_items(self) -> tuple[Any, ...]:
        """For list values: the items only `old` has."""
        if isinstance(self.old, list) and isinstance(self.new, list):
            return tuple(i for i in self.old if i not in self.new)
        return ()


@dataclass(frozen=True, slots=True)
class Change:
    """An entry of a section that was added, removed or changed."""

    section: str
    key: str
    kind: Kind
    fields: tuple[FieldChange, ...] = ()
    old: Any = None
    new: Any = None


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """Every change from version `old` to version `new`, section by section."""

    old: str
    new: str
    changes: tuple[Change, ...]

    def in_section(self, section: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.section == section)

    def find(self, section: str, key: str) -> Change | None:
        return next((c for c in self.changes if c.section == section and c.key == key), None)

    def __bool__(self) -> bool:
        return bool(self.changes)


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Compare two versions; version, effective date and change summary are not changes."""
    before, after = _sections(old), _sections(new)
    changes: list[Change] = []
    for section in KEYED_SECTIONS:
        changes.extend(_diff_keyed(section, before[section], after[section]))
    for section in SINGLE_SECTIONS:
        changes.extend(_diff_single(section, before[section], after[section]))
    return PolicyDiff(old.version, new.version, tuple(changes))


def _sections(policy: Policy) -> dict[str, Any]:
    data = policy.model_dump(mode="json")
    data["cookies"] = {c["name"]: c for c in data["cookies"]}
    data["general"] = {k: data[k] for k in _GENERAL}
    return data


def _diff_keyed(section: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    for key in old:
        if key not in new:
            yield Change(section, key, "removed", old=old[key])
    for key in new:
        if key not in old:
            yield Change(section, key, "added", new=new[key])
        elif old[key] != new[key]:
            yield Change(section, key, "changed", _field_changes(old[key], new[key]))


def _diff_single(section: str, old: Any, new: Any) -> Iterator[Change]:
    if old == new:
        return
    if old is None:
        yield Change(section, section, "added", new=new)
    elif new is None:
        yield Change(section, section, "removed", old=old)
    else:
        yield Change(section, section, "changed", _field_changes(old, new))


def _field_changes(old: Any, new: Any) -> tuple[FieldChange, ...]:
    flat_old, flat_new = dict(_flatten(old)), dict(_flatten(new))
    paths = [*flat_old, *(p for p in flat_new if p not in flat_old)]
    return tuple(
        FieldChange(p, flat_old.get(p), flat_new.get(p))
        for p in paths
        if flat_old.get(p) != flat_new.get(p)
    )


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def format_diff(diff: PolicyDiff, lang: str = "en") -> str:
    """The diff as plain text, one change per line, fields indented beneath it."""
    if not diff:
        return f"{diff.old} -> {diff.new}: no changes"
    other = tuple(s for s in _LANG_SUFFIXES if s != f".{lang}")
    lines = [f"{diff.old} -> {diff.new}"]
    for change in diff.changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
        label = change.key if change.section == change.key else f"{change.section}.{change.key}"
        lines.append(f"{mark} {label} {change.kind}")
        for fc in change.fields:
            if fc.path.endswith(other):
                continue
            lines.append(f"    {fc.path}: {_show(fc)}")
    return "\n".join(lines)


def _show(change: FieldChange) -> str:
    if change.added_items or change.removed_items:
        parts = [f"+{i}" for i in change.added_items] + [f"-{i}" for i in change.removed_items]
        return ", ".join(parts)
    return f"{_short(change.old)} -> {_short(change.new)}"


def _short(value: Any, limit: int = 70) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
