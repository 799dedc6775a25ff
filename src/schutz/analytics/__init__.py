"""First-party web analytics: page views with truncated addresses, daily aggregates, reports."""
