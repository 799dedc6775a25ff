"""The `schutz` command line: one module per command group."""
