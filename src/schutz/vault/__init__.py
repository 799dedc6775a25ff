"""The personal-data vault: subjects, encrypted fields, keys, blind index, holds (C1, C9-C11)."""
