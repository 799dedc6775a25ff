"""Consent states in bulk, for audiences: one purpose, many subjects, flat memory.

The same rules as `state.derive_state`, read only from the events that can matter (those
for the purpose, and objections to any direct-marketing purpose when it is one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import groupby
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from schutz.consent.models import ConsentEvent
from schutz.consent.state import (
    ConsentState,
    check_purpose,
    derive_state,
    direct_marketing,
    needs_confirmation,
)
from schutz.consent.vocabulary import ConsentAction
from schutz.policy.schema import Policy


def states_for_purpose(
    session: Session, policy: Policy, purpose: str, *, batch_size: int = 5000
) -> Iterator[tuple[str, ConsentState]]:
    """Stream `(subject_id, state)` for every subject with a say about `purpose`, by id.

    For audiences: a newsletter goes to `confirmed` subjects only, direct marketing to anyone
    not `objected` (Art. 21(3) GDPR). Only the events that can matter are read (those for
    `purpose`, and objections to any direct-marketing purpose when it is one), in batches,
    so memory stays flat however many subjects there are.
    """
    check_purpose(policy, purpose)
    rows = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.subject_id.is_not(None), _relevant(policy, purpose))
        .order_by(ConsentEvent.subject_id, ConsentEvent.at, ConsentEvent.id)
        .execution_options(yield_per=batch_size)
    )
    for subject_id, events in groupby(rows, key=lambda e: e.subject_id):
        state = derive_state(policy, events).get(purpose)
        if subject_id is not None and state is not None:
            yield subject_id, state.state


def _fold_rows(
    purpose: str,
    marketing: frozenset[str],
    rows: Iterable[Sequence[Any]],
    *,
    ask_only: bool = False,
) -> Iterator[tuple[str, ConsentState]]:
    """`derive_state(...).get(purpose)` per subject, from `(subject_id, action, purpose)` rows
    ordered by subject and time.

    The same rules as `derive_state`, for one purpose and without building an object per
    event: the audience path folds millions of events. `ask_only`: the purpose needs
    confirmation, so a grant is an ask that lifts nothing and only a confirmation does.
    `tests/newsletter/test_audience_states.py` checks that both agree.
    """
    covers_marketing = purpose in marketing
    current: str | None = None
    consent: ConsentState | None = None
    objected = False
    for subject_id, action, said_for in rows:
        if subject_id != current:
            if current is not None and (objected or consent is not None):
                yield current, ConsentState.OBJECTED if objected else cast(ConsentState, consent)
            current, consent, objected = subject_id, None, False
        if said_for == purpose:
            if action == "grant":
                if ask_only and objected:
                    consent = ConsentState.GRANTED  # an ask; the objection stands
                elif consent is not ConsentState.CONFIRMED:
                    consent = ConsentState.GRANTED
                objected = objected and ask_only  # otherwise a new grant lifts it
            elif action == "confirm":
                objected = False
                consent = ConsentState.CONFIRMED
            elif action == "withdraw":
                consent = ConsentState.WITHDRAWN
            else:
                objected = True
        elif action == "object" and covers_marketing and said_for in marketing:
            objected = True  # an objection to direct marketing covers all of it
    if current is not None and (objected or consent is not None):
        yield current, ConsentState.OBJECTED if objected else cast(ConsentState, consent)


def _relevant(policy: Policy, purpose: str) -> Any:
    marketing = direct_marketing(policy)
    relevant = ConsentEvent.purpose == purpose
    if purpose in marketing:
        relevant = or_(
            relevant,
            and_(
                ConsentEvent.action == ConsentAction.OBJECT.value,
                ConsentEvent.purpose.in_(sorted(marketing)),
            ),
        )
    return relevant


_EVENT_COLUMNS = (ConsentEvent.subject_id, ConsentEvent.action, ConsentEvent.purpose)


_EVENT_ORDER = (ConsentEvent.subject_id, ConsentEvent.at, ConsentEvent.id)


def state_batches_for_purpose(
    session: Session, policy: Policy, purpose: str, *, batch_size: int = 5000
) -> Iterator[list[tuple[str, ConsentState]]]:
    """`states_for_purpose` a page at a time, by keyset pagination over subject ids.

    Each page is one short query for the events after the last subject seen (Core rows, no
    ORM objects), so nothing stays open while the caller commits between pages, and memory
    stays flat. A page that ends inside one subject's events leaves that subject to the
    next page. Every state comes out exactly as `derive_state` would give it.
    """
    check_purpose(policy, purpose)
    marketing = direct_marketing(policy)
    ask_only = needs_confirmation(policy, purpose)
    relevant = _relevant(policy, purpose)
    limit = max(batch_size, 2) * 2
    after = ""
    while True:
        # The connection of this page's transaction: the caller may commit between pages.
        connection = session.connection()
        rows = connection.execute(
            select(*_EVENT_COLUMNS)
            .where(ConsentEvent.subject_id > after, relevant)
            .order_by(*_EVENT_ORDER)
            .limit(limit)
        ).all()
        if not rows:
            return
        complete = len(rows) < limit
        if not complete and rows[0].subject_id == rows[-1].subject_id:
            # One subject with more events than a page: read that subject whole.
            rows = connection.execute(
                select(*_EVENT_COLUMNS)
                .where(ConsentEvent.subject_id == rows[0].subject_id, relevant)
                .order_by(*_EVENT_ORDER)
            ).all()
        elif not complete:
            cut = rows[-1].subject_id
            rows = [r for r in rows if r.subject_id != cut]
        yield list(_fold_rows(purpose, marketing, rows, ask_only=ask_only))
        if complete:
            return
        after = rows[-1].subject_id


def states_for_subjects(
    session: Session, policy: Policy, purpose: str, subject_ids: Collection[str]
) -> dict[str, ConsentState]:
    """The state of `purpose` for each of `subject_ids` that has a say about it, in one query.

    For audiences whose candidates come from elsewhere (the vault's holders of an address
    collected for a direct-marketing purpose, who are in unless they objected, Art. 21(3)).
    """
    check_purpose(policy, purpose)
    if not subject_ids:
        return {}
    marketing = direct_marketing(policy)
    rows = session.connection().execute(
        select(*_EVENT_COLUMNS)
        .where(ConsentEvent.subject_id.in_(list(subject_ids)), _relevant(policy, purpose))
        .order_by(*_EVENT_ORDER)
    )
    return dict(_fold_rows(purpose, marketing, rows, ask_only=needs_confirmation(policy, purpose)))
