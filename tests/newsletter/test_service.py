"""Double opt-in, confirmation, unsubscribe and issues against the real ledger and outbox."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.service import verify
from schutz.consent.models import ConsentEvent
from schutz.consent.service import (
    ConsentState,
    current_state,
    record_consent,
    user_agent_fingerprint,
)
from schutz.errors import Conflict, InvalidInput
from schutz.mail.models import OutboxMessage
from schutz.mail.service import open_payload
from schutz.newsletter import service, tokens
from schutz.newsletter.audience import audience
from schutz.newsletter.service import Links
from schutz.policy.engine import Engine
from schutz.vault.keys import Keyring

from .conftest import NOW

WORDING = "Yes, send me the newsletter. I can unsubscribe at any time."


def _sign_up(
    session: Session, rules: Engine, keyring: Keyring, links: Links, email: str, **kw: object
) -> service.SignUpResult:
    args: dict[str, object] = {
        "email": email,
        "wording": WORDING,
        "wording_version": "newsletter-form-1",
        "form_url": "/newsletter",
        "ip": "203.0.113.77",
        "user_agent": "Test/1.0",
        "lang": "en",
        "actor": "subject",
        "now": NOW,
    }
    args.update(kw)
    return service.sign_up(session, rules, keyring, links, **args)  # type: ignore[arg-type]


def _token_in(body: str, path: str) -> str:
    line = next(x for x in body.splitlines() if path in x)
    return parse_qs(urlsplit(line.strip()).query)["token"][0]


def _mails(session: Session, keyring: Keyring) -> list[OutboxMessage]:
    """The queued mails, their sealed payloads opened (detached, so nothing is written)."""
    rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))
    for row in rows:
        session.expunge(row)
        row.payload = open_payload(session, keyring, row.payload)
    return rows


def test_sign_up_records_the_proof_and_queues_a_plain_confirmation(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    result = _sign_up(session, rules, keyring, links, "ada@example.org")

    grant = session.get(ConsentEvent, result.grant_event_id)
    assert grant is not None
    assert (grant.action, grant.purpose, grant.channel) == ("grant", "newsletter", "web")
    assert grant.ip_truncated == "203.0.113.0"
    assert grant.user_agent == user_agent_fingerprint("Test/1.0")
    assert "Test/1.0" not in (grant.user_agent or "")
    assert grant.wording_version == "newsletter-form-1"
    assert len(grant.wording_hash or "") == 64
    assert grant.evidence == "form:/newsletter"
    assert grant.policy_version == rules.policy.version
    [stored] = session.scalars(select(OutboxMessage)).all()
    assert set(stored.payload) == {"sealed", "subject_id"}  # no address in the clear
    [mail] = _mails(session, keyring)
    assert mail.payload["to"] == "ada@example.org"
    assert "/newsletter/confirm?token=" in mail.payload["body"]
    assert "List-Unsubscribe" not in mail.payload["headers"]
    assert current_state(session, rules.policy, result.subject_id) == {
        "newsletter": ConsentState.GRANTED
    }


def test_unconfirmed_subscriber_is_not_in_the_audience(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    _sign_up(session, rules, keyring, links, "ada@example.org")

    assert (
        list(audience(session, rules, keyring, "newsletter", actor="t", role="marketing", now=NOW))
        == []
    )


def test_confirm_then_send_then_one_click_unsubscribe(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    result = _sign_up(session, rules, keyring, links, "ada@example.org")
    token = _token_in(_mails(session, keyring)[0].payload["body"], "/newsletter/confirm")

    subject_id = service.confirm(
        session, rules.policy, links, token=token, ip="2001:db8:1:2::9", user_agent="UA",
        actor="subject", now=NOW + timedelta(hours=1),
    )  # fmt: skip
    assert subject_id == result.subject_id
    who = list(
        audience(session, rules, keyring, "newsletter", actor="t", role="marketing", now=NOW)
    )
    assert who == [(subject_id, "ada@example.org")]

    issue = service.send_issue(
        session, rules, keyring, links, subject="News", body="Hello.", actor="apikey:m",
        role="marketing", now=NOW,
    )  # fmt: skip
    assert issue.recipients == 1
    mail = _mails(session, keyring)[-1]
    link = mail.payload["headers"]["List-Unsubscribe"]
    assert link.startswith("<https://shop.example/newsletter/unsubscribe?token=")
    assert mail.payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.strip("<>") in mail.payload["body"]

    unsubscribe = parse_qs(urlsplit(link.strip("<>")).query)["token"][0]
    assert service.unsubscribe(
        session, rules.policy, links, token=unsubscribe, how="one-click", ip=None,
        user_agent=None, actor="subject", now=NOW + timedelta(days=1),
    )  # fmt: skip
    assert not service.unsubscribe(
        session, rules.policy, links, token=unsubscribe, how="one-click", ip=None,
        user_agent=None, actor="subject", now=NOW + timedelta(days=1),
    )  # fmt: skip
    assert (
        list(audience(session, rules, keyring, "newsletter", actor="t", role="marketing", now=NOW))
        == []
    )
    actions = [e.action for e in session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))]
    assert actions == ["grant", "confirm", "withdraw"]
    assert verify(session).ok


def test_second_confirm_forged_and_expired_links_change_nothing(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    _sign_up(session, rules, keyring, links, "ada@example.org")
    token = _token_in(_mails(session, keyring)[0].payload["body"], "/newsletter/confirm")
    kw = {"ip": None, "user_agent": None, "actor": "subject"}
    service.confirm(session, rules.policy, links, token=token, now=NOW, **kw)  # type: ignore[arg-type]
    before = session.scalars(select(ConsentEvent)).all()

    with pytest.raises(Conflict, match="already confirmed"):
        service.confirm(session, rules.policy, links, token=token, now=NOW, **kw)  # type: ignore[arg-type]
    with pytest.raises(tokens.TokenInvalid):
        service.confirm(session, rules.policy, links, token=token[:-2] + "xx", now=NOW, **kw)  # type: ignore[arg-type]
    other = Links(base_url=links.base_url, secret=b"another secret entirely, 32 bytes")
    with pytest.raises(tokens.TokenInvalid):
        service.confirm(session, rules.policy, other, token=token, now=NOW, **kw)  # type: ignore[arg-type]
    assert session.scalars(select(ConsentEvent)).all() == before


def test_expired_confirmation_link_is_refused(
    session: Session, rules: Engine, keyring: Keyring, links: Links, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sign_up(session, rules, keyring, links, "ada@example.org")
    token = _token_in(_mails(session, keyring)[0].payload["body"], "/newsletter/confirm")
    monkeypatch.setattr(tokens, "CONFIRM_MAX_AGE", -1)

    with pytest.raises(tokens.TokenExpired):
        service.confirm(
            session, rules.policy, links, token=token, ip=None, user_agent=None,
            actor="subject", now=NOW,
        )  # fmt: skip


def test_malformed_address_is_refused_and_nothing_is_stored(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    with pytest.raises(InvalidInput, match="email"):
        _sign_up(session, rules, keyring, links, "not-an-address")

    assert session.scalars(select(ConsentEvent)).all() == []
    assert _mails(session, keyring) == []


def test_objection_removes_from_direct_marketing_audience(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    from schutz.vault import service as vault

    ids = [
        vault.intake(
            session, rules, keyring, source="registration", purposes=["direct_marketing"],
            data={"email": f"c{i}@example.org"}, asserted_by="shop", actor="t", now=NOW,
        ).subject_id
        for i in range(3)
    ]  # fmt: skip
    record_consent(
        session, rules.policy, subject_id=ids[1], purpose="direct_marketing", action="object",
        channel="fax", evidence="scan-42", actor="staff:1", now=NOW,
    )  # fmt: skip

    who = dict(
        audience(session, rules, keyring, "direct_marketing", actor="t", role="marketing", now=NOW)
    )
    assert set(who) == {ids[0], ids[2]}
    with pytest.raises(InvalidInput):
        list(audience(session, rules, keyring, "billing", actor="t", role="marketing", now=NOW))


def test_after_an_objection_only_the_owners_confirmation_brings_the_newsletter_back(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    first = _sign_up(session, rules, keyring, links, "ada@example.org")
    token = _token_in(_mails(session, keyring)[-1].payload["body"], "/newsletter/confirm")
    service.confirm(
        session, rules.policy, links, token=token, ip=None, user_agent=None,
        actor="subject", now=NOW + timedelta(minutes=5),
    )  # fmt: skip
    record_consent(
        session, rules.policy, subject_id=first.subject_id, purpose="direct_marketing",
        action="object", channel="fax", evidence="scan-7", actor="staff:1",
        now=NOW + timedelta(days=1),
    )  # fmt: skip
    # Someone signs the address up again: an ask, which brings nothing back by itself.
    _sign_up(session, rules, keyring, links, "ada@example.org", now=NOW + timedelta(days=2))
    later = NOW + timedelta(days=2, minutes=1)
    assert current_state(session, rules.policy, first.subject_id)["newsletter"] == "objected"
    assert list(audience(session, rules, keyring, "newsletter", actor="t", role="marketing",
                         now=later)) == []  # fmt: skip
    # The owner of the mailbox confirms: now, and only now, the newsletter is back.
    token = _token_in(_mails(session, keyring)[-1].payload["body"], "/newsletter/confirm")
    service.confirm(
        session, rules.policy, links, token=token, ip=None, user_agent=None,
        actor="subject", now=later,
    )  # fmt: skip
    assert current_state(session, rules.policy, first.subject_id)["newsletter"] == "confirmed"
    assert current_state(session, rules.policy, first.subject_id)["direct_marketing"] == "objected"
