"""Every domain's tables in one metadata, for migrations and test clean-up.

Each domain keeps its tables in its own `models.py`; this module only imports them so that
Alembic and the tests see the whole schema.
"""

import schutz.analytics.models
import schutz.audit.models
import schutz.breaches.models
import schutz.buckets
import schutz.consent.models
import schutz.consent.wordings
import schutz.cookies.models
import schutz.disclosures.models
import schutz.identity.models
import schutz.mail.models
import schutz.retention.models
import schutz.subject_requests.models
import schutz.systems.models
import schutz.vault.models  # noqa: F401 - imported for its tables
from schutz.db import Base

metadata = Base.metadata
