"""How the staff console names things: people by e-mail, purposes by their policy title,
request kinds and channels in the reader's language; and the one way its pages render."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from schutz.clock import utcnow
from schutz.identity.directory import staff_by_label
from schutz.policy.schema import Policy
from schutz.web.auth import StaffContext
from schutz.web.i18n import N_, pick_language, translations
from schutz.web.templating import render

NO_STORE = {"Cache-Control": "no-store"}
# Roles that see colleagues by e-mail address; others see "a colleague (role)".
SEES_COLLEAGUES = ("support", "dpo", "admin")

KINDS = {
    "access": N_("Access (Art. 15)"),
    "rectification": N_("Rectification"),
    "completion": N_("Completion"),
    "erasure": N_("Erasure"),
    "objection": N_("Objection"),
    "restriction": N_("Restriction"),
}
CHANNELS = {
    "web": N_("Web form"),
    "api": N_("Shop (API)"),
    "post": N_("Post"),
    "fax": N_("Fax"),
    "phone": N_("Telephone"),
    "email": N_("E-mail"),
}
DELIVERY = {
    "queued": N_("queued"),
    "retrying": N_("retrying"),
    "delivered": N_("delivered"),
    "dead": N_("failed"),
}
ACTORS = {
    "cli": N_("the command line"),
    "system": N_("Schutz (automatic)"),
    "subject": N_("the customer"),
    "anonymous": N_("someone not signed in"),
    "demo": N_("the demo set-up"),
}


@dataclass
class Names:
    """Names for one page, in its language, as its viewer may see them."""

    lang: str
    viewer: StaffContext | None
    policy: Policy | None
    staff: dict[str, tuple[str, str]] = field(default_factory=dict)

    def translate(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def who(self, label: str | None) -> str:
        """A person or process behind an audit label, e.g. "dpo@shop.example" for staff:…"""
        if not label:
            return self.translate(N_("nobody"))
        if self.viewer is not None and label == self.viewer.actor.label:
            return self.translate(N_("you (%(email)s)")) % {"email": self.viewer.email}
        if label in self.staff:
            email, role = self.staff[label]
            if self.viewer is not None and self.viewer.actor.role in SEES_COLLEAGUES:
                return email
            return self.translate(N_("a colleague (%(role)s)")) % {"role": role}
        kind, _, rest = label.partition(":")
        if kind == "apikey":
            return self.translate(N_("API key “%(name)s”")) % {"name": rest}
        if kind == "staff":
            return self.translate(N_("a former staff login"))
        if kind in ACTORS:
            return self.translate(ACTORS[kind])
        return label

    def purpose(self, key: str | None) -> str:
        """The purpose's title in the policy in force, or the key if the policy has none."""
        if not key:
            return ""
        found = self.policy.purposes.get(key) if self.policy else None
        return found.name.get(self.lang) if found else key

    def recipient(self, key: str | None) -> str:
        found = self.policy.recipients.get(key) if self.policy and key else None
        return found.name.get(self.lang) if found else (key or "")

    def kind(self, key: str) -> str:
        return self.translate(KINDS[key]) if key in KINDS else key

    def channel(self, key: str) -> str:
        return self.translate(CHANNELS[key]) if key in CHANNELS else key

    def delivery(self, key: str) -> str:
        return self.translate(DELIVERY[key]) if key in DELIVERY else key


def names_for(
    request: Request,
    viewer: StaffContext | None,
    session: Session | None = None,
    labels: Iterable[str] = (),
) -> Names:
    """Names for a page of `viewer`; `labels` are the actor labels the page will show."""
    policy: Policy = request.app.state.policies.in_force(utcnow().date())
    staff = staff_by_label(session, labels) if session is not None else {}
    return Names(pick_language(request), viewer, policy, staff)


def staff_page(
    request: Request,
    name: str,
    ctx: dict[str, Any],
    *,
    status: int = 200,
    names: Names | None = None,
) -> HTMLResponse:
    """Render a console page: never cached, with its viewer's menu and the page's names."""
    viewer = ctx.get("staff")
    if names is None:
        names = names_for(request, viewer if isinstance(viewer, StaffContext) else None)
    full = {"names": names, **ctx}
    response = render(request, name, full, status_code=status)
    response.headers.update(NO_STORE)
    return response
