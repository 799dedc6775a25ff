"""Disclosures to processors (C2, C3, C7): recipients, orders, minimal payloads, signed webhooks."""
