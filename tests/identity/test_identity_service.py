"""Staff users, sign-in, server-side sessions and API keys (throttling: test_sign_in_throttle)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.errors import Conflict, InvalidInput, Unauthenticated
from schutz.identity import service
from schutz.identity.models import ApiKey, StaffSession, StaffUser

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EMAIL = "Sam.Support@shop.example"
PASSWORD = "a long enough secret"


def add_user(session: Session, *, role: str = "support", email: str = EMAIL) -> StaffUser:
    user = service.add_staff(
        session, email=email, role=role, password=PASSWORD, actor="cli", now=NOW
    )
    session.commit()
    return user


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def all_audit_text(session: Session) -> str:
    return str([(e.actor, e.details) for e in session.scalars(select(AuditEntry))])


def test_added_staff_keeps_the_address_as_given_and_only_a_hash(session: Session) -> None:
    user = add_user(session)
    assert user.email == EMAIL
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert actions(session) == ["staff.add"]
    assert EMAIL.lower() not in all_audit_text(session).lower()


@pytest.mark.parametrize(
    ("email", "role", "password", "message"),
    [
        ("x@shop.example", "root", PASSWORD, "unknown staff role"),
        ("x@shop.example", "shop", PASSWORD, "unknown staff role"),
        ("x@shop.example", "dpo", "elevenchars", "at least 12"),
        ("not-an-address", "dpo", PASSWORD, "not an e-mail address"),
    ],
)
def test_add_staff_refuses_bad_input(
    session: Session, email: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        service.add_staff(session, email=email, role=role, password=password, actor="cli", now=NOW)
    assert email not in str(caught.value)


def test_add_staff_refuses_the_same_address_in_another_case(session: Session) -> None:
    add_user(session)
    with pytest.raises(Conflict) as caught:
        add_user(session, email=EMAIL.upper())
    assert EMAIL.upper() not in str(caught.value)


def test_the_right_password_signs_in_whatever_the_case_of_the_address(session: Session) -> None:
    user = add_user(session)
    assert service.authenticate_staff(session, f" {EMAIL.lower()} ", PASSWORD, NOW) is user


def test_a_wrong_password_or_unknown_address_is_refused_alike(session: Session) -> None:
    add_user(session)
    with pytest.raises(Unauthenticated) as wrong:
        service.authenticate_staff(session, EMAIL, "not the password", NOW)
    with pytest.raises(Unauthenticated) as unknown:
        service.authenticate_staff(session, "nobody@shop.example", PASSWORD, NOW)
    assert str(wrong.value) == str(unknown.value)
    session.commit()
    assert actions(session)[1:] == ["staff.login_failed", "staff.login_failed"]
    assert "nobody" not in all_audit_text(session)


def test_a_session_lives_eight_hours_and_stores_only_a_hash(session: Session) -> None:
    user = add_user(session)
    row, token = service.start_session(session, user, now=NOW)
    session.commit()
    assert token not in {row.token_hash, row.csrf_token, row.id}
    assert service.session_for_token(session, token, now=NOW + timedelta(hours=7)) is row
    assert service.session_for_token(session, token, now=NOW + timedelta(hours=8)) is None
    assert service.session_for_token(session, token + "x", now=NOW) is None
    assert service.session_for_token(session, "", now=NOW) is None


def test_a_new_sign_in_rotates_the_token_and_ends_the_old_session(session: Session) -> None:
    user = add_user(session)
    first, old = service.start_session(session, user, now=NOW)
    second, new = service.start_session(session, user, now=NOW, replaces=old)
    session.commit()
    assert new != old
    assert first.csrf_token != second.csrf_token
    assert service.session_for_token(session, old, now=NOW) is None
    assert service.session_for_token(session, new, now=NOW) is second


def test_signing_out_ends_the_session_and_is_audited(session: Session) -> None:
    user = add_user(session)
    _, token = service.start_session(session, user, now=NOW)
    assert service.end_session(session, token, now=NOW) is True
    assert service.end_session(session, token, now=NOW) is False
    session.commit()
    assert service.session_for_token(session, token, now=NOW) is None
    assert actions(session) == ["staff.add", "staff.login", "staff.logout"]
    assert session.scalars(select(StaffSession)).one().ended_at == NOW
    assert verify(session).ok


def test_an_api_key_authenticates_and_only_its_hash_is_stored(session: Session) -> None:
    key, plaintext = service.create_api_key(
        session, name="shop-1", role="shop", actor="cli", now=NOW
    )
    session.commit()
    assert plaintext.startswith(f"schutz_{key.prefix}_")
    assert plaintext.split("_", 2)[2] not in key.secret_hash
    assert service.authenticate_api_key(session, plaintext) is key
    actor = service.api_key_actor(key)
    assert (actor.kind, actor.role, actor.label) == ("apikey", "shop", "apikey:shop-1")
    assert plaintext not in all_audit_text(session)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
        lambda k: k.replace("schutz_", "other_"),
        lambda k: "schutz_000000000000_" + k.split("_", 2)[2],
        lambda k: "",
        lambda k: "schutz_",
    ],
)
def test_a_wrong_api_key_is_refused(session: Session, mangle: Callable[[str], str]) -> None:
    _, plaintext = service.create_api_key(session, name="k", role="dpo", actor="cli", now=NOW)
    with pytest.raises(Unauthenticated):
        service.authenticate_api_key(session, mangle(plaintext))


def test_a_revoked_api_key_stops_working(session: Session) -> None:
    _, plaintext = service.create_api_key(session, name="k", role="dpo", actor="cli", now=NOW)
    service.revoke_api_key(session, name="k", actor="cli", now=NOW)
    session.commit()
    with pytest.raises(Unauthenticated, match="revoked"):
        service.authenticate_api_key(session, plaintext)


def test_api_key_names_and_roles_are_checked(session: Session) -> None:
    service.create_api_key(session, name="shop-1", role="shop", actor="cli", now=NOW)
    with pytest.raises(Conflict):
        service.create_api_key(session, name="shop-1", role="shop", actor="cli", now=NOW)
    with pytest.raises(InvalidInput):
        service.create_api_key(session, name="shop 1", role="shop", actor="cli", now=NOW)
    with pytest.raises(InvalidInput):
        service.create_api_key(session, name="shop-2", role="sales", actor="cli", now=NOW)
    assert len(session.scalars(select(ApiKey)).all()) == 1
