"""One exception family for the whole API and the handler that renders it as RFC 9457."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.kit.i18n import CONTENT_LANGUAGE, EN, N_, ZH, Message, negotiate, translate

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# A relative reference (RFC 9457 §3.1.1), resolved against the request's URL: the page this
# service serves to explain the problem type (`api.docs`), wherever it is deployed.
PROBLEM_BASE = "/problems/"


class PetitionDeskError(Exception):
    """Base of every error a service may raise; rendered as problem+json."""

    status = 500
    slug = "internal"
    title = N_("Internal error")
    # The refusal is itself something to keep (a login revoked): commit, do not roll back.
    keep_changes = False

    def __init__(self, detail: Message | None = None, **extensions: Any) -> None:
        self.detail = detail or Message(self.title)
        super().__init__(str(self.detail))
        self.extensions = extensions
        self.headers: dict[str, str] = {}

    def to_problem(self, instance: str, language: str = EN) -> dict[str, Any]:
        """The RFC 9457 problem document for this error, its texts in `language` (a `Message`
        anywhere in the extensions too, such as each field's `detail` in `errors`)."""
        return {
            "type": PROBLEM_BASE + self.slug,
            "title": translate(self.title, language),
            "status": self.status,
            "detail": self.detail.render(language),
            "instance": instance,
            **{key: rendered(value, language) for key, value in self.extensions.items()},
        }


def rendered(value: Any, language: str) -> Any:
    """`value` with every `Message` in it (inside lists and dicts too) put into `language`."""
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, list):
        return [rendered(item, language) for item in value]
    if isinstance(value, dict):
        return {key: rendered(item, language) for key, item in value.items()}
    return value


class BadRequest(PetitionDeskError):
    """The request cannot be understood."""

    status = 400
    slug = "bad-request"
    title = N_("Bad request")


class Unauthorized(PetitionDeskError):
    """No valid credentials."""

    status = 401
    slug = "unauthorized"
    title = N_("Authentication required")

    def __init__(self, detail: Message | None = None, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(PetitionDeskError):
    """Authenticated, but this role may not do this."""

    status = 403
    slug = "forbidden"
    title = N_("Forbidden")


class NotFound(PetitionDeskError):
    """The object does not exist (or is outside the caller's reach)."""

    status = 404
    slug = "not-found"
    title = N_("Not found")


class NotAcceptable(PetitionDeskError):
    """None of the media types in `Accept` can be produced; `available` lists those that can."""

    status = 406
    slug = "not-acceptable"
    title = N_("Not acceptable")


class Conflict(PetitionDeskError):
    """The request conflicts with the current state."""

    status = 409
    slug = "conflict"
    title = N_("Conflict")


class InvalidInput(PetitionDeskError):
    """Semantically wrong input; `errors` points at each bad field."""

    status = 422
    slug = "validation"
    title = N_("Invalid input")

    def __init__(self, detail: Message, *, pointer: str | None = None, **extensions: Any) -> None:
        errors = extensions.pop("errors", None)
        if errors is None and pointer is not None:
            errors = [{"pointer": pointer, "detail": detail}]
        super().__init__(detail, errors=errors or [], **extensions)


class PayloadTooLarge(PetitionDeskError):
    """The request body is over the configured limit."""

    status = 413
    slug = "too-large"
    title = N_("Request body too large")


class UnsupportedMediaType(PetitionDeskError):
    """The body is of a media type the operation does not take: a file by what its bytes are
    (the policy lists the types allowed), any other body by its `Content-Type`."""

    status = 415
    slug = "unsupported-media-type"
    title = N_("Unsupported media type")


class TooManyRequests(PetitionDeskError):
    """Too many attempts; try again after `retry_after` seconds."""

    status = 429
    slug = "too-many-requests"
    title = N_("Too many requests")

    def __init__(self, detail: Message, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extensions)
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(PetitionDeskError):
    """A dependency (database, Redis) cannot be reached."""

    status = 503
    slug = "unavailable"
    title = N_("Service unavailable")


def json_pointer(loc: Sequence[int | str]) -> str:
    """RFC 6901 pointer for a pydantic error location inside the request body."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


# What pydantic says of a field, by its error `type`, with the placeholders of the error's
# `ctx`: the catalogue's message ids. English answers keep pydantic's own sentence (it says
# "1 character" and "2 characters"); an unknown type keeps it in every language.
FIELD_MESSAGES: Final[Mapping[str, str]] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "string_unicode": N_(
        "Input should be a valid string, unable to parse raw data as a unicode string"
    ),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "int_parsing_size": N_("Unable to parse input string as an integer, exceeded maximum size"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "finite_number": N_("Input should be a finite number"),
    "decimal_type": N_("Decimal input should be an integer, float, string or Decimal object"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "decimal_max_digits": N_("Decimal input should have no more than {max_digits} digits in total"),
    "decimal_max_places": N_(
        "Decimal input should have no more than {decimal_places} decimal places"
    ),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "too_short": N_("{field_type} should have at least {min_length} items, not {actual_length}"),
    "too_long": N_("{field_type} should have at most {max_length} items, not {actual_length}"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "uuid_type": N_("UUID input should be a string, bytes or UUID object"),
    "uuid_parsing": N_("Input should be a valid UUID, {error}"),
    "uuid_version": N_("UUID version {expected_version} expected"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, {error}"),
    "date_from_datetime_inexact": N_(
        "Datetimes provided to dates should have zero time - e.g. be exact dates"
    ),
    "date_past": N_("Date should be in the past"),
    "date_future": N_("Date should be in the future"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime, {error}"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date, {error}"),
    "datetime_past": N_("Input should be in the past"),
    "datetime_future": N_("Input should be in the future"),
    "timezone_aware": N_("Input should have timezone info"),
    "timezone_naive": N_("Input should not have timezone info"),
    "time_type": N_("Input should be a valid time"),
    "time_parsing": N_("Input should be in a valid time format, {error}"),
    "time_delta_type": N_("Input should be a valid timedelta"),
    "time_delta_parsing": N_("Input should be a valid timedelta, {error}"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid tuple"),
    "set_type": N_("Input should be a valid set"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "model_attributes_type": N_(
        "Input should be a valid dictionary or object to extract fields from"
    ),
    "dataclass_type": N_("Input should be a dictionary or an instance of {class_name}"),
    "json_invalid": N_("Invalid JSON: {error}"),
    "json_type": N_("JSON input should be string, bytes or bytearray"),
    "none_required": N_("Input should be None"),
    "bytes_type": N_("Input should be a valid bytes"),
    "bytes_too_short": N_("Data should have at least {min_length} bytes"),
    "bytes_too_long": N_("Data should have at most {max_length} bytes"),
    "url_type": N_("URL input should be a string or URL"),
    "url_parsing": N_("Input should be a valid URL, {error}"),
    "url_scheme": N_("URL scheme should be {expected_schemes}"),
    "url_too_long": N_("URL should have at most {max_length} characters"),
    "value_error": N_("Value error, {error}"),
    "assertion_error": N_("Assertion failed, {error}"),
    "union_tag_invalid": N_(
        "Input tag '{tag}' found using {discriminator} does not match any of the expected "
        "tags: {expected_tags}"
    ),
    "union_tag_not_found": N_("Unable to extract tag using discriminator {discriminator}"),
    "frozen_field": N_("Field is frozen"),
    "frozen_instance": N_("Instance is frozen"),
    "is_instance_of": N_("Input should be an instance of {class}"),
    "callable_type": N_("Input should be callable"),
}


def field_message(error: Mapping[str, Any], language: str) -> str:
    """What pydantic said of one field, in `language` (see `FIELD_MESSAGES`). A validator's
    `ValueError(Message(...))` is rendered in the language."""
    english = str(error.get("msg") or "invalid")
    ctx = dict(error.get("ctx") or {})
    cause = ctx.get("error")
    own = cause.args[0] if isinstance(cause, Exception) and cause.args else None
    if isinstance(own, Message):
        ctx["error"] = own.render(language)
    template = FIELD_MESSAGES.get(str(error.get("type")))
    if language == EN or template is None:
        return english
    if language == ZH and isinstance(ctx.get("expected"), str):
        ctx["expected"] = ctx["expected"].replace(", ", "、").replace(" or ", " 或 ")
    try:
        return translate(template, language).format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        return english


def _validation_errors(exc: RequestValidationError, language: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = str(loc[0]) if loc else "body"
        entry: dict[str, Any] = {"detail": field_message(err, language), "type": err.get("type")}
        if where == "body":
            entry["pointer"] = json_pointer(loc[1:])
        else:
            entry["in"] = where
            entry["name"] = ".".join(str(p) for p in loc[1:])
        out.append(entry)
    return out


def language_of(headers: Mapping[str, str], default: str) -> str:
    """The language of an error's answer: the one `Accept-Language` prefers, else `default`."""
    return negotiate(headers.get("accept-language"), default)


def language_headers(language: str) -> dict[str, str]:
    """The headers of an answer in `language`, which depends on the request's preference."""
    return {"Content-Language": CONTENT_LANGUAGE[language], "Vary": "Accept-Language"}


def _problem(
    status: int, body: dict[str, Any], language: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        body,
        status_code=status,
        media_type=PROBLEM_JSON,
        headers={**(headers or {}), **language_headers(language)},
    )


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

# The titles Starlette gives the errors it raises itself (an unknown path, a method the path
# does not serve), for the catalogue.
HTTP_TITLES: Final = (
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Acceptable"),
    N_("Unsupported Media Type"),
    N_("Unprocessable Content"),
    N_("Internal Server Error"),
)


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


def install_handlers(app: FastAPI, default_language: str = ZH) -> None:
    """Register the problem+json rendering for every error the app can produce, in the
    language the request prefers (`default_language` when it prefers none of ours)."""

    def language(request: Request) -> str:
        return language_of(request.headers, default_language)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PetitionDeskError)
        lang = language(request)
        return _problem(exc.status, exc.to_problem(request.url.path, lang), lang, exc.headers)

    async def on_pydantic(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        lang = language(request)
        errors = [
            {
                "pointer": json_pointer(list(e.get("loc", ()))),
                "detail": field_message(e, lang),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        problem = InvalidInput(Message("The request body is invalid."), errors=errors)
        return _problem(422, problem.to_problem(request.url.path, lang), lang)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = language(request)
        problem = InvalidInput(
            Message("The request has invalid fields."), errors=_validation_errors(exc, lang)
        )
        return _problem(422, problem.to_problem(request.url.path, lang), lang)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        lang = language(request)
        body = {
            "type": "about:blank",
            "title": translate(str(exc.detail), lang),
            "status": exc.status_code,
            "instance": request.url.path,
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (allowed := allowed_methods(request)):
            headers["Allow"] = allowed  # else a route outside the contract: Starlette's own
        return _problem(exc.status_code, body, lang, headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        lang = language(request)
        return _problem(500, PetitionDeskError().to_problem(request.url.path, lang), lang)

    async def on_dependency(request: Request, exc: Exception) -> JSONResponse:
        if not dependency_down(exc):
            return await on_unexpected(request, exc)
        log.warning("%s %s: a dependency is unreachable: %r", request.method, request.url.path, exc)
        lang = language(request)
        problem = ServiceUnavailable(
            Message(
                "The database cannot be reached right now; nothing was saved. Try again shortly."
            )
        )
        headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)}
        return _problem(503, problem.to_problem(request.url.path, lang), lang, headers)

    app.add_exception_handler(PetitionDeskError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for family in (DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(family, on_dependency)
    app.add_exception_handler(Exception, on_unexpected)
