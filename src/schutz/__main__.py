"""`python -m schutz` runs the command line."""

from schutz.cli.main import run

run()
