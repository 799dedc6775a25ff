"""Benchmark: policy decisions per second, beside a bare dict and pycasbin, in one run.

Usage: python bench/engine.py [RESULTS.md]
Without an argument the section is printed; with one, the `## Decision engine` section of
that file is replaced (or appended), leaving the other sections alone.
"""

from __future__ import annotations

import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.engine import Engine, SubjectState
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Role

SECTION = "## Decision engine"
QUERIES = 2_000
ROUNDS = 500  # engine and dict: QUERIES * ROUNDS decisions per timing
CASBIN_QUERIES = 2_000

CASBIN_MODEL = """\
[request_definition]
r = sub, pur, cat, st

[policy_definition]
p = sub, pur, cat, st

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.pur == p.pur && r.cat == p.cat && r.st == p.st
"""


def make_queries(engine: Engine, n: int) -> list[tuple[str, str, str, SubjectState]]:
    """A fixed mix of questions: every role, purpose and category, varied subject states."""
    rng = random.Random(2013)
    purposes = list(engine.policy.purposes)
    categories = list(engine.policy.categories)
    states = [
        SubjectState(),
        SubjectState.of(consented=["newsletter"]),
        SubjectState.of(objected=["direct_marketing", "market_research"]),
        SubjectState.of(consented=["newsletter"], objected=["newsletter"]),
        SubjectState.of(restricted=True),
        SubjectState.of(erased=True),
    ]
    roles = [r.value for r in Role]
    return [
        (rng.choice(roles), rng.choice(purposes), rng.choice(categories), rng.choice(states))
        for _ in range(n)
    ]


def best_rate(run: Callable[[], None], calls: int, repeats: int = 5) -> float:
    """Calls per second of the fastest of `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return calls / best


def bench_engine(engine: Engine, queries: list[tuple[str, str, str, SubjectState]]) -> float:
    decide = engine.decide

    def run() -> None:
        for _ in range(ROUNDS):
            for role, purpose, category, state in queries:
                decide(role, purpose, category, state)

    return best_rate(run, len(queries) * ROUNDS)


def bench_dict(engine: Engine, queries: list[tuple[str, str, str, SubjectState]]) -> float:
    table = engine.table
    keys = [(r, p, c, s.bits(p)) for r, p, c, s in queries]
    get = table.get

    def run() -> None:
        for _ in range(ROUNDS):
            for key in keys:
                get(key)

    return best_rate(run, len(keys) * ROUNDS)


def bench_casbin(engine: Engine, queries: list[tuple[str, str, str, SubjectState]]) -> float:
    import casbin  # only the benchmark needs it

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.conf"
        model.write_text(CASBIN_MODEL, encoding="utf-8")
        rules = Path(tmp) / "policy.csv"
        rules.write_text(
            "".join(
                f"p, {r}, {p}, {c}, {b}\n" for (r, p, c, b), d in engine.table.items() if d.allowed
            ),
            encoding="utf-8",
        )
        enforcer = casbin.Enforcer(str(model), str(rules))
    sample = [(r, p, c, str(s.bits(p))) for r, p, c, s in queries[:CASBIN_QUERIES]]
    for (r, p, c, b), (_, _, _, state) in zip(sample, queries, strict=False):
        if enforcer.enforce(r, p, c, b) != engine.decide(r, p, c, state).allowed:
            raise SystemExit(f"casbin and the engine disagree on {(r, p, c, b)}")
    enforce = enforcer.enforce

    def run() -> None:
        for r, p, c, b in sample:
            enforce(r, p, c, b)

    return best_rate(run, len(sample), repeats=1)


def report() -> str:
    policy = load_policy_set(BUNDLED_POLICY_DIR).latest
    start = time.perf_counter()
    engine = Engine(policy)
    compile_ms = (time.perf_counter() - start) * 1000
    queries = make_queries(engine, QUERIES)
    ours = bench_engine(engine, queries)
    bare = bench_dict(engine, queries)
    casbin_rate = bench_casbin(engine, queries)
    allowed = sum(d.allowed for d in engine.table.values())
    rows = [
        ("`Engine.decide` (Schutz)", ours),
        ("bare `dict.get` of the same precomputed answers", bare),
        ("pycasbin `enforce`, same allowed tuples", casbin_rate),
    ]
    lines = [
        SECTION,
        "",
        f"Policy {policy.version}: {len(engine.table):,} precomputed answers"
        f" ({allowed:,} allow), compiled in {compile_ms:.1f} ms.",
        f"Python {platform.python_version()} on {platform.machine()}, one process;"
        f" {QUERIES:,} mixed questions (6 roles, all purposes and categories, 6 subject states).",
        "",
        "| method | decisions/s | ns/decision | vs bare dict |",
        "|---|---:|---:|---:|",
    ]
    for name, rate in rows:
        ratio = "baseline" if rate is bare else f"{bare / rate:,.1f}x slower"
        lines.append(f"| {name} | {rate:,.0f} | {1e9 / rate:,.0f} | {ratio} |")
    lines += [
        "",
        "pycasbin checks the request against every policy line in turn (no index), so its",
        "cost grows with the number of allowed tuples.",
        "",
        f"Schutz answers {ours / casbin_rate:,.0f}x faster than pycasbin and within"
        f" {bare / ours:.1f}x of a bare dict (target: ≥ 2,000,000/s and within 10x).",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace the `## Decision engine` section of `path`, or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> None:
    section = report()
    if len(argv) > 1:
        write_section(Path(argv[1]), section)
    print(section)


if __name__ == "__main__":
    main(sys.argv)
