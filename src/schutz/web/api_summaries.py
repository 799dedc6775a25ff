"""The one-line summaries of /api/docs and /openapi.json, written for readers.

FastAPI would make them from function names ("Get Audience", "Readyz"); every operation of
the API gets its own here instead, and a test fails when a new one has none.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SUMMARIES: dict[tuple[str, str], str] = {
    ("GET", "/readyz"): "Is the server ready: database reachable and keys loaded",
    ("GET", "/.well-known/gpc.json"): "Global Privacy Control support statement",
    ("GET", "/api/v1/policy"): "The privacy policy in force",
    ("GET", "/api/v1/policy/versions"): "Every version of the policy",
    ("POST", "/api/v1/collect"): "Record a page view or event from the first-party script",
    ("GET", "/api/v1/analytics/summary"): "Page views and visitors of a period, no personal data",
    ("POST", "/api/v1/subjects"): "Store a customer's data for the purposes the policy allows",
    ("POST", "/api/v1/subjects/lookup"): "Find a customer by e-mail address",
    ("GET", "/api/v1/subjects/{subject_id}"): "Read a customer's data for one purpose",
    ("PATCH", "/api/v1/subjects/{subject_id}"): "Correct or complete a customer's data",
    ("POST", "/api/v1/orders"): "Place an order and disclose it to the processors the policy names",
    ("GET", "/api/v1/orders/{order_ref}/disclosures"): "What each recipient of an order received",
    ("POST", "/api/v1/consents"): "Record a consent, a withdrawal or an objection",
    ("GET", "/api/v1/subjects/{subject_id}/consents"): "A customer's consents and objections",
    ("GET", "/api/v1/audiences/{purpose}"): "Everyone who may be contacted for a purpose now",
    ("POST", "/api/v1/newsletter/issues"): "Send a newsletter issue to confirmed subscribers",
    ("POST", "/api/v1/requests"): "Submit a data-subject request",
    ("GET", "/api/v1/requests"): "Requests by status, kind or subject, a page at a time",
    ("POST", "/api/v1/requests/{request_id}/systems/{system}"): (
        "An operator's system answers a request: done or failed"
    ),
    ("POST", "/api/v1/requests/{request_id}/systems/{system}/data"): (
        "An operator's system gives its part of an access package"
    ),
    ("POST", "/api/v1/subjects/{subject_id}/events"): (
        "Record a last contact or a contract's end (retention starts)"
    ),
    ("GET", "/api/v1/requests/{request_id}"): "The state and deadline of a request",
    ("POST", "/api/v1/requests/{request_id}/approve"): "Approve an erasure (DPO)",
    ("GET", "/api/v1/requests/{request_id}/export"): "The data export of an access request",
    ("GET", "/api/v1/sites/{site}/registry"): "The cookies and embeds a site may use",
    ("POST", "/api/v1/visitor-consents"): "Record a visitor's cookie choices (embedded banner)",
}  # fmt: skip


def write_summaries(app: FastAPI) -> None:
    """Put the written summaries into the app's OpenAPI schema (and so into /api/docs);
    an operation not listed keeps FastAPI's."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                summary = SUMMARIES.get((method.upper(), path))
                if summary:
                    operation["summary"] = summary
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
