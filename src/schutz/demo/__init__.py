"""What exists only to show Schutz at work: the seeded demo (`seed`), the demo shop
(`shop`) and the sandbox processors (`sandbox`), composed over the web app by `app`.

It sits above `schutz.web` (import-linter's layers): the production app imports nothing
from here; `schutz serve --demo` asks `create_demo_app` for the app with these routes.
"""

from schutz.demo.seed import (
    CREDENTIALS_FILE,
    DEMO_DOMAIN,
    DEMO_INTAKES,
    DEMO_STAFF,
    DemoIntake,
    seed_demo,
    seed_story,
)

__all__ = [
    "CREDENTIALS_FILE",
    "DEMO_DOMAIN",
    "DEMO_INTAKES",
    "DEMO_STAFF",
    "DemoIntake",
    "seed_demo",
    "seed_story",
]
