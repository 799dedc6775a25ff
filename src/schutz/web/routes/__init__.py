"""One router per domain; `schutz.web.app` includes them all."""
