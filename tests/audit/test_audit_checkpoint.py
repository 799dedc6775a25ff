"""Checkpoints: the head as one line to keep elsewhere, read back exactly as printed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS
from schutz.audit.service import record, verify
from schutz.audit.verify import Checkpoint, VerifyResult, head_checkpoint

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MAC = "0123456789abcdef" * 4


def _append(session: Session, n: int) -> None:
    for i in range(n):
        record(session, actor="cli", action="test.checkpoint", details={"i": i}, now=NOW)
    session.commit()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"12:{MAC}", Checkpoint(12, MAC)),
        (f"seq=12 mac={MAC}", Checkpoint(12, MAC)),
        (f"  seq=12 mac={MAC.upper()}\n", Checkpoint(12, MAC)),
        (f"0:{GENESIS}", Checkpoint(0, GENESIS)),
    ],
)
def test_a_checkpoint_reads_back_as_printed_or_as_seq_colon_mac(
    text: str, expected: Checkpoint
) -> None:
    assert Checkpoint.parse(text) == expected
    assert Checkpoint.parse(str(expected)) == expected


@pytest.mark.parametrize(
    "text",
    ["", "12", f"12:{MAC[:-1]}", f"-1:{MAC}", f"twelve:{MAC}", f"12:{MAC}x", f"0:{MAC}"],
)
def test_anything_else_is_not_a_checkpoint(text: str) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        Checkpoint.parse(text)


def test_the_checkpoint_of_an_empty_chain_is_the_genesis(session: Session) -> None:
    assert head_checkpoint(session) == Checkpoint(0, GENESIS)
    assert verify(session, checkpoints=[Checkpoint(0, GENESIS)]).ok


def test_the_checkpoint_is_the_newest_entry_and_verifies_while_the_chain_grows(
    session: Session,
) -> None:
    _append(session, 7)
    point = head_checkpoint(session)
    assert isinstance(point, Checkpoint)
    assert point.seq == 7
    _append(session, 3)
    assert verify(session, checkpoints=[point]).ok


def test_no_checkpoint_is_given_for_a_head_entry_that_fails_its_mac(
    session: Session, engine: Engine
) -> None:
    _append(session, 4)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'nobody' WHERE seq = 4"))
    found = head_checkpoint(session)
    assert isinstance(found, VerifyResult)
    assert (found.ok, found.first_bad_seq) == (False, 4)


def test_no_checkpoint_is_given_when_the_head_points_past_the_entries(
    session: Session, engine: Engine
) -> None:
    _append(session, 4)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
    found = head_checkpoint(session)
    assert isinstance(found, VerifyResult)
    assert found.first_bad_seq == 4
