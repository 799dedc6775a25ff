"""Retention applied: the periods the policy states, counted from the events they start at."""
