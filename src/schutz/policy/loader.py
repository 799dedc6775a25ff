"""Reading policy files: YAML to validated `Policy`, every error as one `file:line: rule`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schutz.errors import InvalidInput, NotFound
from schutz.policy.schema import Policy
from schutz.policy.validation import check_policy

if TYPE_CHECKING:
    from schutz.policy.engine import Engine

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is missing on some platforms
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

POLICY_SUFFIXES = (".yaml", ".yml")
MAX_POLICY_BYTES = 1024 * 1024  # a policy is a few kilobytes; anything this big is not one

# Clearer words than pydantic's for the fields people most often forget.
_MISSING = {
    "legal_basis": "every purpose needs a legal basis (Art. 6(1) GDPR): 'legal_basis' is missing",
    "roles": "every purpose must name the roles that may use it: 'roles' is missing",
    "retention": "every purpose must say how long data is kept: 'retention' is missing",
}


class PolicyError(InvalidInput):
    """A policy file breaks a rule; `str()` is one line, `path:line: rule`."""

    def __init__(self, path: Path | str, line: int | None, rule: str) -> None:
        self.path = Path(path)
        self.line = line
        self.rule = rule
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {rule}")


def load_policy(path: Path | str) -> Policy:
    """Read and validate one policy file; any problem raises `PolicyError`."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            # A device or pipe (/dev/zero, a FIFO) would be read for ever.
            raise PolicyError(path, None, "not a regular file")
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(path, None, f"larger than {MAX_POLICY_BYTES} bytes; not a policy")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(path, None, "no such policy file or directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise PolicyError(path, None, f"cannot read policy file: {reason}") from None
    return parse_policy(text, path)


def parse_policy(text: str, path: Path | str = "<policy>") -> Policy:
    """Validate policy YAML `text`; errors name `path` and the line of the offending node."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError(path, line, f"YAML syntax error: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        # Unmarked errors, e.g. a control character in a binary file (yaml.reader.ReaderError).
        raise PolicyError(path, None, f"not a YAML text file ({type(exc).__name__})") from None
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise PolicyError(path, line, "a policy file must be a mapping of sections")
    _refuse_duplicate_keys(root, path)
    data = _Loader("").construct_document(root)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc.errors(include_url=False), root, path) from None
    issues = check_policy(policy)
    if issues:
        first = min(issues, key=lambda issue: _line_of(root, issue.path))
        raise PolicyError(
            path, _line_of(root, first.path), f"{_dotted(first.path)}: {first.message}"
        )
    return policy


def _refuse_duplicate_keys(node: yaml.Node, path: Path | str) -> None:
    # YAML lets a later key silently win; in a policy that would hide a rule.
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, value in node.value:
            if key.value in seen:
                raise PolicyError(path, key.start_mark.line + 1, f"key {key.value!r} appears twice")
            seen.add(key.value)
            _refuse_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, path)


def _first_error(errors: list[ErrorDetails], root: yaml.Node, path: Path | str) -> PolicyError:
    error = min(errors, key=lambda e: _line_of(root, e["loc"]))
    loc = tuple(part for part in error["loc"] if part != "[key]")
    field_name = str(loc[-1]) if loc else ""
    if error["type"] == "missing":
        message = _MISSING.get(field_name, f"{field_name!r} is required")
        loc = loc[:-1]
    elif error["type"] == "extra_forbidden":
        message = f"unknown key {field_name!r}"
        loc = loc[:-1]
    else:
        message = error["msg"].removeprefix("Value error, ")
    where = _dotted(loc)
    return PolicyError(
        path, _line_of(root, error["loc"]), f"{where}: {message}" if where else message
    )


def _line_of(root: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """The 1-based line of the node `loc` points at, or of its nearest existing ancestor."""
    node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next((kv for kv in node.value if str(kv[0].value) == str(part)), None)
            if pair is None:
                return line
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class PolicySet:
    """Every version of the policy, oldest first by effective date (clauses C13, C26)."""

    versions: tuple[Policy, ...]
    paths: Mapping[str, Path] = field(default_factory=dict)
    _engines: dict[str, Engine] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self.versions)

    @property
    def latest(self) -> Policy:
        """The version with the latest effective date, in force or announced."""
        return self.versions[-1]

    def in_force(self, today: date) -> Policy:
        """The latest version whose effective date is on or before `today`."""
        current = [p for p in self.versions if p.effective_date <= today]
        if not current:
            raise NotFound(f"no policy version is in force on {today.isoformat()}")
        return current[-1]

    def get(self, version: str) -> Policy:
        for policy in self.versions:
            if policy.version == version:
                return policy
        raise NotFound(f"no policy version {version!r}")

    def engine(self, version: str) -> Engine:
        """The compiled decision engine of `version`, built once and kept."""
        if version not in self._engines:
            from schutz.policy.engine import Engine  # here: engine imports this module

            self._engines[version] = Engine(self.get(version))
        return self._engines[version]


def policy_files(path: Path) -> list[Path]:
    """The policy files at `path`: the file itself, or the YAML files of a directory."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file())
    return [path]


def load_policy_set(path: Path | str) -> PolicySet:
    """Load a policy file or a directory of version files into a `PolicySet`."""
    path = Path(path)
    if not path.exists():
        raise PolicyError(path, None, "no such policy file or directory")
    files = policy_files(path)
    if not files:
        raise PolicyError(path, None, "the directory holds no policy files (*.yaml)")
    loaded: list[tuple[Policy, Path]] = []
    seen: dict[str, Path] = {}
    for file in files:
        policy = load_policy(file)
        if policy.version in seen:
            raise PolicyError(
                file,
                _version_line(file),
                f"version {policy.version!r} is also in {seen[policy.version]}",
            )
        seen[policy.version] = file
        loaded.append((policy, file))
    loaded.sort(key=lambda pair: (pair[0].effective_date, pair[0].version))
    return PolicySet(versions=tuple(p for p, _ in loaded), paths={p.version: f for p, f in loaded})


_kept: dict[Path, tuple[tuple[tuple[str, int, int, int], ...], PolicySet]] = {}


def current_policy_set(path: Path | str) -> PolicySet:
    """`load_policy_set(path)`, kept while its files are unchanged (same names, sizes and
    modification times): a long-running worker asks on every pass, and parsing and compiling
    the policy anew each time cost a queued look-up 60 ms (200 ms cold). Editing (in place or
    by an editor's rename), adding or removing a version file is seen on the next call."""
    path = Path(path)
    stamp = tuple(
        (str(file), info.st_mtime_ns, info.st_size, info.st_ino)
        for file in (policy_files(path) if path.exists() else [])
        for info in (file.stat(),)
    )
    kept = _kept.get(path)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    policies = load_policy_set(path)
    _kept[path] = (stamp, policies)
    return policies


def _version_line(file: Path) -> int:
    root = yaml.compose(file.read_text(encoding="utf-8"), Loader=_Loader)
    return _line_of(root, ("version",)) if root is not None else 1
