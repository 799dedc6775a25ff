"""The Fides data-category taxonomy, loaded once and only when a policy is validated."""

from __future__ import annotations

from functools import cache


@cache
def known_categories() -> frozenset[str]:
    """Every data-category key of fideslang's default taxonomy (`user.contact.email`, ...).

    Importing fideslang costs about 130 ms (it builds its whole taxonomy at import), so it
    is imported here, on first use, and the keys are cached for the life of the process.
    Deciding never calls this: the engine works on the already-validated policy.
    """
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY  # slow: imported on first use

    return frozenset(str(c.fides_key) for c in DEFAULT_TAXONOMY.data_category)
