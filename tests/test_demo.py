"""`schutz serve --demo`: the demo's logins work, and seeding twice changes nothing."""

import stat

from sqlalchemy import Engine, func, select

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.demo import seed_demo
from schutz.identity.service import authenticate_api_key, authenticate_staff
from schutz.vault.keys import load_keyring
from schutz.vault.models import Subject
from schutz.vault.service import find_subject


def test_demo_credentials_work_and_a_second_seed_changes_nothing(
    settings: Settings, engine: Engine
) -> None:
    settings.data_dir.mkdir(parents=True)
    sessions = make_session_factory(engine)
    printed: list[str] = []
    first = seed_demo(sessions, settings, port=8000, echo=printed.append)
    second = seed_demo(sessions, settings, port=8000, echo=printed.append)

    assert first == second
    creds = settings.data_dir / "demo-credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert str(first["shop_api_key"]) in "\n".join(printed)
    with transaction(sessions) as session:
        assert authenticate_api_key(session, str(first["shop_api_key"])).role == "shop"
        user = authenticate_staff(
            session, "dpo@demo.schutz.example", str(first["staff_password"]), utcnow()
        )
        assert user.role == "dpo"
        assert session.scalar(select(func.count()).select_from(Subject)) == 3
        keyring = load_keyring(settings)
        assert find_subject(
            session, keyring, "erika.mustermann@example.org", actor="test", now=utcnow()
        )
