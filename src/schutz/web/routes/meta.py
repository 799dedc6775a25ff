"""Site-wide odds and ends: the front door, the GPC statement and the API reference page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from schutz.web.deps import PolicyDep
from schutz.web.i18n import pick_language
from schutz.web.templating import render

router = APIRouter()

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class GpcStatement(BaseModel):
    """The Global Privacy Control support resource (GPC spec, section 3.3)."""

    model_config = ConfigDict(populate_by_name=True)

    gpc: bool = Field(description="True: the site honours the Sec-GPC: 1 request header.")
    last_update: str = Field(
        alias="lastUpdate",
        description="Date (YYYY-MM-DD) of the policy in force, the last change to this stance.",
    )


@dataclass(frozen=True)
class Operation:
    """One row of the API reference: a method on a path and what it does."""

    method: str
    path: str
    summary: str
    tag: str
    public: bool


@router.get("/", include_in_schema=False)
def front_door(request: Request) -> RedirectResponse:
    """The site's root is its privacy policy; a chosen language goes along."""
    asked = request.query_params.get("lang")
    target = f"/privacy?lang={pick_language(request)}" if asked else "/privacy"
    return RedirectResponse(target, status_code=303)


@router.get(
    "/.well-known/gpc.json",
    response_model=GpcStatement,
    response_model_by_alias=True,
    tags=["meta"],
    summary="Global Privacy Control support statement",
)
def gpc_statement(policy: PolicyDep) -> GpcStatement:
    """We honour GPC (clause C24); the date is that of the policy version that says so."""
    return GpcStatement(gpc=True, last_update=policy.effective_date.isoformat())


def list_operations(schema: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document, sorted by tag, then path, then method."""
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary") or op.get("operationId", ""),
                    tag=(op.get("tags") or ["other"])[0],
                    public=not op.get("security"),
                )
            )
    order = {m.upper(): i for i, m in enumerate(HTTP_METHODS)}
    return sorted(operations, key=lambda o: (o.tag, o.path, order[o.method]))


@router.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API reference as a plain page: Swagger UI would load scripts from a CDN."""
    schema = request.app.openapi()
    return render(
        request,
        "api_docs.html",
        {
            "operations": list_operations(schema),
            "api_title": schema.get("info", {}).get("title", ""),
            "api_version": schema.get("info", {}).get("version", ""),
            "openapi_url": request.app.openapi_url,
        },
    )
