"""Data-subject requests (Art. 12, 15-21 GDPR): identity check, deadlines, access export,
rectification, erasure, objection, restriction, and the privacy centre's sessions (C11)."""
