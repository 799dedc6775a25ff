"""The argon2id parameters production hashes with (the other tests use the cheapest ones,
see tests/conftest.py), and a weaker hash upgraded on the next sign-in."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher, extract_parameters
from sqlalchemy.orm import Session

from schutz.identity import service
from schutz.identity.passwords import check_password, hash_password, needs_rehash

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough secret"


def test_production_hashes_are_argon2id_at_rfc_9106s_second_recommendation(
    production_passwords: PasswordHasher,
) -> None:
    stored = hash_password(PASSWORD)

    used = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert (used.memory_cost, used.time_cost, used.parallelism) == (64 * 1024, 3, 4)
    assert check_password(stored, PASSWORD)
    assert not check_password(stored, PASSWORD + "!")
    assert not needs_rehash(stored)


def test_a_weaker_hash_is_replaced_by_a_production_one_at_the_next_sign_in(
    session: Session, production_passwords: PasswordHasher
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user = service.add_staff(
        session, email="old@shop.example", role="dpo", password=PASSWORD, actor="cli", now=NOW
    )
    user.password_hash = weak
    session.commit()

    attempt = service.begin_sign_in(session, "old@shop.example", network="192.0.2.0", now=NOW)
    session.commit()
    signed_in = service.finish_sign_in(
        session, attempt, matched=attempt.password_matches(PASSWORD), password=PASSWORD, now=NOW
    )
    session.commit()

    assert signed_in.id == user.id
    assert extract_parameters(signed_in.password_hash).memory_cost == 64 * 1024
    assert check_password(signed_in.password_hash, PASSWORD)
