"""The privacy policy as data: schema, loader, decision engine and diff; pure, no DB or web."""

from schutz.policy.engine import CLEAR, Decision, Engine, SubjectState, compile_policy
from schutz.policy.loader import PolicyError, PolicySet, load_policy, load_policy_set
from schutz.policy.schema import LegalBasis, Policy, Role

__all__ = [
    "CLEAR",
    "Decision",
    "Engine",
    "LegalBasis",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Role",
    "SubjectState",
    "compile_policy",
    "load_policy",
    "load_policy_set",
]
