"""Schutz: a website's privacy policy as enforced software."""

__version__ = "0.1.0"
