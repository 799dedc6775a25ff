"""Site scan: load pages as a first-time visitor and hold what they do against the policy."""
