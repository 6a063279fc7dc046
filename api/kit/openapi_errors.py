"""Every error answer in the contract: the app answers problem+json (RFC 9457) for 4xx, so
each operation documents the ones it can give, with the `Problem` schema, instead of
FastAPI's default JSON validation error. Clients and fuzzers read the contract as it is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api.kit.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; members beyond these may be present.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Each invalid field, with a JSON pointer (body) or its name (query).",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
}
ERRORS = {
    "400": "The request could not be read (malformed JSON, a cursor that is not ours).",
    "401": "No valid bearer token (or worker token, for internal routes).",
    "403": "The caller's role may not do this.",
    "404": "No such object in the caller's territory.",
    "413": "The request body is over the size limit.",
    "422": "Invalid input, with a JSON pointer to each bad field.",
    "429": "Too many requests for this token (see `Retry-After`).",
    "503": "The database cannot be reached right now; nothing was saved. Try again after "
    "`Retry-After` seconds.",
}
NOT_MODIFIED = {"description": "Not modified since the `ETag` given in `If-None-Match`."}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _names_an_object(op: dict[str, Any]) -> bool:
    return any(
        p.get("schema", {}).get("format") == "uuid"
        or any(s.get("format") == "uuid" for s in p.get("schema", {}).get("anyOf", []))
        for p in op.get("parameters", [])
    )


def _statuses(method: str, path: str, op: dict[str, Any]) -> set[str]:
    """The error statuses the operation can answer."""
    statuses = {"400", "422"} if op.get("parameters") or op.get("requestBody") else set()
    if "x-permission" in op:
        statuses |= {"401", "403", "429"}
    if path.startswith(("/v1/internal/", "/v1/inbound/", "/v1/auth/refresh", "/v1/auth/token")):
        statuses.add("401")
    if path == "/v1/auth/token":
        statuses.add("429")  # the lockout after repeated failures
    if "{" in path or _names_an_object(op):
        statuses.add("404")
    if method in ("post", "put", "patch"):
        statuses.add("413")
    if path.startswith("/v1/"):
        statuses.add("503")  # every /v1 operation reads or writes PostgreSQL
    return statuses


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the `Problem` schema and each operation's error answers (and the 304 of reads)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses: dict[str, Any] = op["responses"]
            for status in sorted(_statuses(method, path, op) | set(responses)):
                existing = responses.get(status, {})
                problem = status.startswith("4") or (status == "503" and path.startswith("/v1/"))
                if status == "422" or (problem and "content" not in existing):
                    described = existing.get("description") if status != "422" else None
                    responses[status] = _problem(described or ERRORS[status])
            if (
                method == "get"
                and path.startswith("/v1/")
                and not path.startswith(("/v1/internal/", "/v1/auth/token", "/v1/auth/refresh"))
                and "x-permission" in op
            ):
                responses.setdefault("304", NOT_MODIFIED)
    schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
    return schema


# Pydantic writes a bound inside `anyOf` (an optional `JsonInt` with `ge=`) under its own
# argument names, which JSON Schema does not know: clients and fuzzers would see no bound.
_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def standard_bounds(node: Any) -> Any:
    """Rename pydantic's `ge`/`le`/`gt`/`lt` to JSON Schema's keywords in every numeric
    schema under `node` (in place), and return it."""
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for ours, standard in _BOUNDS.items():
                if ours in node:
                    node.setdefault(standard, node.pop(ours))
        for value in node.values():
            standard_bounds(value)
    elif isinstance(node, list):
        for value in node:
            standard_bounds(value)
    return node


def install(app: FastAPI, schemas: Sequence[type[BaseModel]] = ()) -> None:
    """Make `app.openapi()` answer the documented contract; `schemas` are models a route's
    `openapi_extra` names by `$ref` (FastAPI lists only those its parameters use)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in schemas:
                components[model.__name__] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            schema["components"]["schemas"] = dict(sorted(components.items()))
            app.openapi_schema = standard_bounds(document_errors(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
