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
    assert imported <= {"__future__", "hashlib", "hmac", "json", "re", "time"}


@pytest.mark.parametrize(
    "header",
    [
        f"t=\u00b2,v1={'0' * 64}",  # a superscript two: str.isdigit() says yes, int() says no
        f"t=\u0661\u0662,v1={'0' * 64}",  # Arabic-Indic digits
        f"t={'9' * 5000},v1={'0' * 64}",  # bigger than int() takes from a string
        f"t={'9' * 40},v1={'0' * 64}",
        "t=",
        "v1=",
        f"t={T}",
        f",v1={'0' * 64}",
        "t=1,v1",
        "x" * 5000,
    ],
    ids=[
        "superscript",
        "arabic-indic",
        "huge",
        "long",
        "t-empty",
        "v1-only",
        "t-only",
        "leading-comma",
        "v1-without-value",
        "too-long",
    ],
)
def test_a_malformed_header_is_refused_as_malformed(header: str) -> None:
    with pytest.raises(verify.MalformedSignature):
        verify_signature(SECRET, BODY, header, now=T)


def test_a_non_ascii_signature_matches_nothing_and_raises_no_type_error() -> None:
    with pytest.raises(SignatureError) as refused:
        verify_signature(SECRET, BODY, f"t={T},v1=\u00e9{'0' * 63}", now=T)
    assert not isinstance(refused.value, verify.MalformedSignature)


def test_receivers_deduplicate_on_the_id_inside_the_signed_body() -> None:
    assert verify.delivery_id(BODY) == "abc"
    for body in (b"[]", b"{}", b'{"id": 7}', b"not json"):
        with pytest.raises(verify.MalformedSignature):
            verify.delivery_id(body)
