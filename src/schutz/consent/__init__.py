"""The consent ledger: grants, confirmations, withdrawals and objections, append-only."""
