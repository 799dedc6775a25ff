"""Encrypted snapshots of the database and restores that keep erasures erased (C10, Art. 17)."""
