"""Errors in Chinese or English (issue 23 point 3): `Accept-Language` chooses, `DEFAULT_LANGUAGE`
decides when it prefers neither; one catalogue holds every message; login takes JSON too."""

from __future__ import annotations

import ast
import string
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI

from api.app import create_app
from api.kit.errors import FIELD_MESSAGES
from api.kit.i18n import LOCALES, ZH, catalogue, negotiate, po_path
from shared.settings import Settings
from tests.conftest import ADMIN_PASSWORD

ROOT = LOCALES.parent.parent
ZH_HEADERS = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN_HEADERS = {"Accept-Language": "en-US,en;q=0.9"}


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _assert_language_headers(resp: httpx.Response, tag: str) -> None:
    assert resp.headers["content-language"] == tag
    assert "accept-language" in resp.headers["vary"].lower()


# --- the same errors in both languages ---------------------------------------------------


async def test_a_domain_404_in_chinese_and_english(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    case_id = uuid.uuid4()
    zh = await client.get(f"/v1/cases/{case_id}", headers={**admin, **ZH_HEADERS})
    en = await client.get(f"/v1/cases/{case_id}", headers={**admin, **EN_HEADERS})
    assert zh.status_code == en.status_code == 404
    assert zh.json()["type"] == en.json()["type"] == "/problems/not-found"
    assert en.json()["title"] == "Not found"
    assert en.json()["detail"] == f"Case {case_id} does not exist."
    assert zh.json()["title"] == "未找到"
    assert zh.json()["detail"] == f"信访事项 {case_id} 不存在。"
    _assert_language_headers(zh, "zh-Hans")
    _assert_language_headers(en, "en")


async def test_a_domain_422_translates_its_field_errors(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    missing = uuid.uuid4()
    body = {"name": "某村", "level": "village", "parent_id": str(missing)}
    zh = await client.post("/v1/units", json=body, headers={**admin, **ZH_HEADERS})
    en = await client.post("/v1/units", json=body, headers={**admin, **EN_HEADERS})
    assert zh.status_code == en.status_code == 422, zh.text
    assert en.json()["detail"] == f"Parent unit {missing} does not exist."
    assert zh.json()["detail"] == f"上级单位 {missing} 不存在。"
    assert zh.json()["title"] == "输入有误"
    zh_errors, en_errors = zh.json()["errors"], en.json()["errors"]
    assert [e["pointer"] for e in zh_errors] == [e["pointer"] for e in en_errors]
    assert [e["detail"] for e in zh_errors] == [zh.json()["detail"]]


async def test_request_validation_errors_by_pydantic_type(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "长" * 201, "parent_id": "not-a-uuid"}  # too long, no level, bad uuid
    zh = await client.post("/v1/units", json=body, headers={**admin, "Accept-Language": "zh"})
    en = await client.post("/v1/units", json=body, headers={**admin, "Accept-Language": "en"})
    assert zh.status_code == en.status_code == 422
    assert zh.json()["detail"] == "请求中有字段填写有误。"
    assert en.json()["detail"] == "The request has invalid fields."
    by_pointer_zh = {e["pointer"]: e for e in zh.json()["errors"]}
    by_pointer_en = {e["pointer"]: e for e in en.json()["errors"]}
    assert by_pointer_zh.keys() == by_pointer_en.keys() == {"/name", "/level", "/parent_id"}
    assert by_pointer_zh["/level"]["detail"] == "缺少必填字段"
    assert by_pointer_en["/level"]["detail"] == "Field required"
    assert by_pointer_zh["/name"]["detail"] == "长度不能超过 200 个字符"
    assert by_pointer_en["/name"]["detail"] == "String should have at most 200 characters"
    assert by_pointer_zh["/parent_id"]["type"] == "uuid_parsing"
    assert by_pointer_zh["/parent_id"]["detail"].startswith("应为有效的 UUID")


async def test_a_validator_s_own_message_is_translated(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    params = {"from": "2026-03-02", "to": "2026-03-01"}
    zh = await client.get(
        "/v1/reception/roster", params=params, headers={**admin, "Accept-Language": "zh"}
    )
    en = await client.get(
        "/v1/reception/roster", params=params, headers={**admin, "Accept-Language": "en"}
    )
    assert zh.status_code == en.status_code == 422, zh.text
    assert [e["detail"] for e in zh.json()["errors"]] == ["取值有误:`from` 不能晚于 `to`"]
    assert [e["detail"] for e in en.json()["errors"]] == [
        "Value error, `from` must not be after `to`"
    ]


async def test_401_and_an_unknown_path_in_both_languages(client: httpx.AsyncClient) -> None:
    zh = await client.get("/v1/cases", headers=ZH_HEADERS)
    en = await client.get("/v1/cases", headers=EN_HEADERS)
    assert zh.status_code == en.status_code == 401
    assert (zh.json()["title"], en.json()["title"]) == ("需要登录认证", "Authentication required")
    assert zh.json()["detail"] == "需要提供 Bearer 访问令牌。"
    assert zh.headers["www-authenticate"] == "Bearer"
    _assert_language_headers(zh, "zh-Hans")

    zh = await client.get("/no/such/page", headers=ZH_HEADERS)
    en = await client.get("/no/such/page", headers=EN_HEADERS)
    assert zh.status_code == en.status_code == 404
    assert (zh.json()["title"], en.json()["title"]) == ("未找到", "Not Found")
    _assert_language_headers(en, "en")


async def test_refusals_before_the_app_follow_the_language_too(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    zh = await client.get("/v1/cases?q=%00", headers={**admin, **ZH_HEADERS})
    assert zh.status_code == 422
    assert zh.json()["detail"] == "文本不能包含 NUL 字符(U+0000)。"
    _assert_language_headers(zh, "zh-Hans")


async def test_q_values_choose_the_language(client: httpx.AsyncClient) -> None:
    for header, title in [
        ("en;q=0.5, zh-Hans;q=0.8", "需要登录认证"),
        ("zh-TW;q=0.3, en-GB;q=0.9", "Authentication required"),
        ("fr-FR, zh;q=0.1", "需要登录认证"),
        ("de, en;q=0.2, zh;q=0", "Authentication required"),
    ]:
        resp = await client.get("/v1/cases", headers={"Accept-Language": header})
        assert resp.json()["title"] == title, header


def test_negotiation_rules() -> None:
    assert negotiate(None, "zh") == "zh"
    assert negotiate("", "en") == "en"
    assert negotiate("fr, de;q=0.9", "zh") == "zh"  # none of ours: the default
    assert negotiate("zh-Hans-CN", "en") == "zh"
    assert negotiate("en;q=0.9, zh;q=0.9", "zh") == "en"  # a tie: the first listed
    assert negotiate("*", "en") == "en"
    assert negotiate("zh;q=0, *", "zh") == "en"  # refused, even as the default
    assert negotiate("en;q=0.4, *;q=0.8", "zh") == "zh"
    assert negotiate("en;q=abc, zh;q=0.2", "en") == "zh"  # a broken q counts as 0


# --- the default is a setting ------------------------------------------------------------


@pytest.fixture(scope="module")
async def chinese_by_default(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as it ships: DEFAULT_LANGUAGE unset, so zh (the suite's own app says en)."""
    shipped = Settings.model_fields["default_language"].default
    application: FastAPI = create_app(settings.model_copy(update={"default_language": shipped}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_the_default_language_is_chinese_and_a_setting(
    chinese_by_default: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    assert Settings.model_fields["default_language"].default == ZH
    for headers in ({}, {"Accept-Language": "fr"}, {"Accept-Language": "*"}):
        resp = await chinese_by_default.get("/v1/cases", headers=headers)
        assert resp.json()["title"] == "需要登录认证", headers
        _assert_language_headers(resp, "zh-Hans")
        # the suite's app is configured with DEFAULT_LANGUAGE=en
        resp = await client.get("/v1/cases", headers=headers)
        assert resp.json()["title"] == "Authentication required", headers
    resp = await chinese_by_default.get("/v1/cases", headers=EN_HEADERS)
    assert resp.json()["title"] == "Authentication required"


async def test_a_successful_answer_carries_no_language(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    resp = await client.get("/v1/auth/me", headers={**admin, **ZH_HEADERS})
    assert resp.status_code == 200
    assert "content-language" not in resp.headers


# --- one catalogue -----------------------------------------------------------------------


def _code_msgids() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    method_map = [("**.py", "python")]
    keywords: dict[str, Any] = {"Message": None, "N_": None}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "api"), method_map, keywords=keywords
    ):
        text = message if isinstance(message, str) else message[0]
        found.setdefault(text, []).append(filename)
    return found


def _fields(text: str) -> set[tuple[str, str | None, str | None]]:
    return {
        (name, conversion, spec)
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    }


def test_every_message_in_the_code_has_its_chinese_and_nothing_stale() -> None:
    in_code = _code_msgids()
    assert len(in_code) > 250  # the extractor found the code's messages at all
    with po_path(ZH).open("rb") as po:
        translated = read_po(po)
    entries = {m.id: m for m in translated if m.id}
    untranslated = sorted(k for k in in_code if not (k in entries and entries[k].string))
    assert untranslated == [], "run `make messages` and translate these"
    fuzzy = sorted(m.id for m in entries.values() if m.fuzzy)
    assert fuzzy == [], "review these fuzzy translations"
    stale = sorted(k for k in entries if k not in in_code)
    assert stale == [], "no longer in the code: run `make messages`"
    assert not translated.obsolete, "obsolete (#~) entries: run `make messages`"
    for msgid, entry in entries.items():
        assert isinstance(msgid, str) and isinstance(entry.string, str), msgid
        assert _is_chinese(entry.string), msgid
        # a translation uses only the message's own placeholders (it may leave one out)
        assert _fields(entry.string) <= _fields(msgid), msgid
    with (LOCALES / "messages.pot").open("rb") as pot:
        template = {m.id for m in read_po(pot) if m.id}
    assert template == set(in_code), "messages.pot is stale: run `make messages`"


def test_every_message_is_given_its_placeholders() -> None:
    """A template's placeholders are exactly the values its `Message(...)` passes (a literal
    brace is doubled): else the English would fail at render time, not at the raise."""
    wrong = []
    for path in (ROOT / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("Message", "Text")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                continue
            names = {name for name, _, _ in _fields(node.args[0].value)}
            given = {keyword.arg for keyword in node.keywords}
            if names != given:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {names} != {given}")
    assert wrong == []


def test_no_compiled_catalogue_is_committed() -> None:
    assert list(LOCALES.rglob("*.mo")) == []


def test_every_common_pydantic_error_type_is_translated() -> None:
    common = {
        "missing", "extra_forbidden", "string_type", "string_too_short", "string_too_long",
        "string_pattern_mismatch", "int_type", "int_parsing", "int_from_float", "float_type",
        "float_parsing", "bool_type", "bool_parsing", "greater_than", "greater_than_equal",
        "less_than", "less_than_equal", "too_short", "too_long", "enum", "literal_error",
        "uuid_type", "uuid_parsing", "date_type", "date_parsing", "date_from_datetime_parsing",
        "datetime_type", "datetime_parsing", "datetime_from_date_parsing", "timezone_aware",
        "list_type", "dict_type", "model_type", "json_invalid", "value_error", "url_parsing",
        "time_delta_parsing", "decimal_parsing", "union_tag_invalid",
    }  # fmt: skip
    assert common <= FIELD_MESSAGES.keys()
    chinese = catalogue(ZH)
    assert all(_is_chinese(chinese[FIELD_MESSAGES[kind]]) for kind in common)


async def test_an_unknown_pydantic_type_keeps_pydantic_s_english() -> None:
    from api.kit.errors import field_message

    error = {"type": "some_new_type", "msg": "Something pydantic says", "ctx": {}}
    assert field_message(error, ZH) == "Something pydantic says"
    missing_ctx = {"type": "string_too_long", "msg": "String should have at most…", "ctx": {}}
    assert field_message(missing_ctx, ZH) == "String should have at most…"


# --- login takes JSON as well as the form ------------------------------------------------


async def test_login_with_json_and_with_the_form(client: httpx.AsyncClient) -> None:
    credentials = {"username": "admin", "password": ADMIN_PASSWORD}
    as_json = await client.post("/v1/auth/token", json=credentials)
    as_form = await client.post("/v1/auth/token", data=credentials)
    assert as_json.status_code == as_form.status_code == 200, as_json.text
    assert as_json.json().keys() == as_form.json().keys()
    me = await client.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {as_json.json()['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["role"] == "admin"


async def test_a_wrong_password_is_the_same_401_either_way(client: httpx.AsyncClient) -> None:
    # not the admin: repeated failures would lock the suite's one admin out
    wrong = {"username": f"nobody-{uuid.uuid4().hex[:6]}", "password": "nope"}
    as_json = await client.post("/v1/auth/token", json=wrong, headers=ZH_HEADERS)
    as_form = await client.post("/v1/auth/token", data=wrong, headers=ZH_HEADERS)
    assert as_json.status_code == as_form.status_code == 401
    assert as_json.headers["content-type"] == "application/problem+json"
    problem = as_json.json()
    assert problem == {**as_form.json(), "instance": problem["instance"]}
    assert problem["detail"] == "用户名或密码错误。"


async def test_a_bad_login_body_is_a_clear_problem(client: httpx.AsyncClient) -> None:
    # a field missing: the same pointers from JSON as from the form
    as_json = await client.post("/v1/auth/token", json={"username": "admin"})
    as_form = await client.post("/v1/auth/token", data={"username": "admin"})
    assert as_json.status_code == as_form.status_code == 422
    assert [e["pointer"] for e in as_json.json()["errors"]] == ["/password"]
    assert as_json.json()["errors"] == as_form.json()["errors"]

    broken = await client.post(
        "/v1/auth/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.headers["content-type"] == "application/problem+json"

    text = await client.post(
        "/v1/auth/token",
        content=b"admin:secret",
        headers={"Content-Type": "text/plain", "Accept-Language": "zh"},
    )
    assert text.status_code == 415
    assert text.json()["type"] == "/problems/unsupported-media-type"
    assert "application/json" in text.json()["detail"]
    assert "text/plain" in text.json()["detail"]
    assert _is_chinese(text.json()["detail"])

    not_an_object = await client.post("/v1/auth/token", json=["admin", "pw"])
    assert not_an_object.status_code == 422
    assert not_an_object.headers["content-type"] == "application/problem+json"
