"""The receivers' signature helper: a valid signature passes, anything else is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from schutz.disclosures import verify
from schutz.disclosures.verify import SignatureError, signature_header, verify_signature

SECRET = "whsec-" + "k" * 32
BODY = b'{"id":"abc","data":{"order_ref":"GS-1"}}'
T = 1_800_000_000


def test_a_signature_made_by_schutz_verifies_and_returns_its_time() -> None:
    header = signature_header(SECRET, BODY, T)

    assert header.startswith(f"t={T},v1=")
    assert verify_signature(SECRET, BODY, header, now=T + 5) == T


def test_the_signature_is_hmac_sha256_over_time_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, BODY, T) == f"t={T},v1={expected}"


@pytest.mark.parametrize(
    ("header", "body", "now"),
    [
        (None, BODY, T),
        ("", BODY, T),
        ("v1=abc", BODY, T),
        (f"t={T}", BODY, T),
        (f"t=soon,v1={'0' * 64}", BODY, T),
        ("garbage", BODY, T),
        (signature_header(SECRET, BODY, T), BODY + b" ", T),
        (signature_header("another-secret-of-length", BODY, T), BODY, T),
        (signature_header(SECRET, BODY, T), BODY, T + 301),
        (signature_header(SECRET, BODY, T), BODY, T - 301),
    ],
    ids=[
        "absent",
        "empty",
        "no-time",
        "no-signature",
        "time-not-a-number",
        "malformed",
        "body-changed",
        "other-secret",
        "too-old",
        "from-the-future",
    ],
)
def test_anything_but_a_fresh_matching_signature_is_refused(
    header: str | None, body: bytes, now: int
) -> None:
    with pytest.raises(SignatureError):
        verify_signature(SECRET, body, header, now=now)


def test_any_one_of_several_signatures_may_match_during_a_secret_change() -> None:
    good = signature_header(SECRET, BODY, T).split(",")[1]
    header = f"t={T},v1={'0' * 64},{good}"

    assert verify_signature(SECRET.encode(), BODY, header, now=T) == T


def test_the_tolerance_window_can_be_set() -> None:
    header = signature_header(SECRET, BODY, T)

    assert verify_signature(SECRET, BODY, header, tolerance=1000, now=T + 900) == T
    with pytest.raises(SignatureError):
        verify_signature(SECRET, BODY, header, tolerance=10, now=T + 11)


def test_the_helper_needs_only_the_standard_library() -> None:
    tree = ast.parse(Path(verify.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "hashlib", "hmac", "time"}
