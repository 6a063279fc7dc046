"""One exception family for the whole API and the handler that renders it as RFC 9457."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# A relative reference (RFC 9457 §3.1.1), resolved against the request's URL: the page this
# service serves to explain the problem type (`api.docs`), wherever it is deployed.
PROBLEM_BASE = "/problems/"


class PetitionDeskError(Exception):
    """Base of every error a service may raise; rendered as problem+json."""

    status = 500
    slug = "internal"
    title = "Internal error"
    # The refusal is itself something to keep (a login revoked): commit, do not roll back.
    keep_changes = False

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = extensions
        self.headers: dict[str, str] = {}

    def to_problem(self, instance: str) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        return {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            **self.extensions,
        }


class BadRequest(PetitionDeskError):
    """The request cannot be understood."""

    status = 400
    slug = "bad-request"
    title = "Bad request"


class Unauthorized(PetitionDeskError):
    """No valid credentials."""

    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(PetitionDeskError):
    """Authenticated, but this role may not do this."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(PetitionDeskError):
    """The object does not exist (or is outside the caller's reach)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class NotAcceptable(PetitionDeskError):
    """None of the media types in `Accept` can be produced; `available` lists those that can."""

    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


class Conflict(PetitionDeskError):
    """The request conflicts with the current state."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class InvalidInput(PetitionDeskError):
    """Semantically wrong input; `errors` points at each bad field."""

    status = 422
    slug = "validation"
    title = "Invalid input"

    def __init__(self, detail: str, *, pointer: str | None = None, **extensions: Any) -> None:
        errors = extensions.pop("errors", None)
        if errors is None and pointer is not None:
            errors = [{"pointer": pointer, "detail": detail}]
        super().__init__(detail, errors=errors or [], **extensions)


class PayloadTooLarge(PetitionDeskError):
    """The request body is over the configured limit."""

    status = 413
    slug = "too-large"
    title = "Request body too large"


class TooManyRequests(PetitionDeskError):
    """Too many attempts; try again after `retry_after` seconds."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extensions)
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(PetitionDeskError):
    """A dependency (database, Redis) cannot be reached."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"


def json_pointer(loc: Sequence[int | str]) -> str:
    """RFC 6901 pointer for a pydantic error location inside the request body."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = str(loc[0]) if loc else "body"
        entry: dict[str, Any] = {"detail": err.get("msg", "invalid"), "type": err.get("type")}
        if where == "body":
            entry["pointer"] = json_pointer(loc[1:])
        else:
            entry["in"] = where
            entry["name"] = ".".join(str(p) for p in loc[1:])
        out.append(entry)
    return out


def _problem(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method the contract serves at the request's path, for `Allow` on a 405.

    Starlette answers 405 with the methods of the first route that matched the path only; one
    path here is served by a route per method (GET and PATCH on a unit are two routes)."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


# SQLSTATE classes that mean "the server is not there for us now", not "your query is wrong":
# connection exceptions, an administrator's or a failover's shutdown, too many connections.
UNAVAILABLE_SQLSTATES = ("08", "57P", "53")
RETRY_AFTER_UNAVAILABLE = 5  # seconds: a PostgreSQL failover or restart takes about that


def dependency_down(exc: BaseException) -> bool:
    """Whether the error says PostgreSQL (or the network to it) is away, so the request may
    succeed if simply repeated: 503 with Retry-After, which load balancers and clients
    understand, rather than a 500 that says the service is broken."""
    if isinstance(exc, (OSError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError):
        code = str(getattr(exc.orig, "sqlstate", None) or "")
        return bool(exc.connection_invalidated) or code.startswith(UNAVAILABLE_SQLSTATES)
    return False


def install_handlers(app: FastAPI) -> None:
    """Register the problem+json rendering for every error the app can produce."""

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PetitionDeskError)
        return _problem(exc.status, exc.to_problem(request.url.path), exc.headers)

    async def on_pydantic(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        errors = [
            {
                "pointer": json_pointer(list(e.get("loc", ()))),
                "detail": e.get("msg"),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        problem = InvalidInput("The request body is invalid.", errors=errors)
        return _problem(422, problem.to_problem(request.url.path))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problem = InvalidInput("The request has invalid fields.", errors=_validation_errors(exc))
        return _problem(422, problem.to_problem(request.url.path))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        body = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "instance": request.url.path,
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (allowed := allowed_methods(request)):
            headers["Allow"] = allowed  # else a route outside the contract: Starlette's own
        return _problem(exc.status_code, body, headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _problem(500, PetitionDeskError().to_problem(request.url.path))

    async def on_dependency(request: Request, exc: Exception) -> JSONResponse:
        if not dependency_down(exc):
            return await on_unexpected(request, exc)
        log.warning("%s %s: a dependency is unreachable: %r", request.method, request.url.path, exc)
        problem = ServiceUnavailable(
            "The database cannot be reached right now; nothing was saved. Try again shortly."
        )
        headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)}
        return _problem(503, problem.to_problem(request.url.path), headers)

    app.add_exception_handler(PetitionDeskError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for family in (DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(family, on_dependency)
    app.add_exception_handler(Exception, on_unexpected)
