"""The intake benchmark's fair baseline (issue 22): a registration as raw asyncpg, the floor the
API could reach.

`register` sends, on one connection in one transaction, the statements the API's
`POST /v1/cases` sends for the same body, in the same order, against the API's own tables, with
the same rows: the caller looked up with their login, their unit's subtree, the policy version,
the origin's ancestry, the repeat and duplicate checks, a real number from
`case_number_counters`, the case, its timeline, the deadlines it opens with their outbox jobs,
the webhook subscriptions to `case.created`, the stat facts and counters and the audit entry
(the lookup secret's hash goes in the case's INSERT, and the new case's figures are counted
from what was written, as the API does); a visit adds per official summoned (the origin's
chief, and from 21 people the town's deputy, from 50 its chief) the holder of the post, the
arrival deadline and its jobs, the `summoned` event, the two rate counts, the summons alert
and its delivery job. A request with an `Idempotency-Key` adds what the API adds: the key's
lock, its lookup and the stored answer. After the commit the outbox rows wait to be marked
dispatched, 50 ms at most, many registrations' rows in one UPDATE (`DispatchMarks`), as the API
does once it handed them to arq.

Statements: 15 for a letter, 23 for a visit summoning one official, 31 for two, each 3 more
with an `Idempotency-Key` (and the shared marking UPDATE): those of the API for the same
bodies, in the same order (compared in PostgreSQL's statement log; `tests/statements.py`
counts the API's).

What it leaves out is the API's own work in Python: validation, authorization, the policy's
rules, sealing the petitioners' numbers, the search tokens' hashing, rendering the answer, and
handing the jobs to arq (the outbox rows are marked dispatched without being enqueued, and the
summons alerts are written as sent: nothing delivers them). Values the API computes are stood
in for by values of the same shape and size (a sealed phone number, bigrams, a digest), built
from the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from shared.contracts import deliver_alert_job_id, flag_due_job_id, flag_due_tick
from shared.contracts import remind_deadline_job_id as remind_job_id

CHINA = timezone(timedelta(hours=8))
POLICY_ROW = 1  # the policy document's one row (`api.policies.repository.CURRENT`)
# The default policy's figures the bench runs with (`api.policies.schemas`).
REPEAT_WINDOW = timedelta(days=180)
INTAKE_DAYS = 15  # disposition and acceptance notice, to the end of the local day
REMINDERS = (0.5, 0.8)
COLLECTIVE_FROM = 5
CHIEF_WITHIN = timedelta(minutes=20)  # the origin's chief (a village's)
LEADER_WITHIN = timedelta(minutes=30)  # the town's deputy and chief for a large visit
DEPUTY_FROM = 21
LEADER_FROM = 50
RATE_WINDOW = timedelta(minutes=10)
SMS_CAP_WINDOW = timedelta(hours=24)

_OFFICIAL_COLUMNS = (
    "officials.name, officials.phone, officials.unit_id, officials.role, officials.username, "
    "officials.password_hash, officials.contacts, officials.active, officials.higher_office_id, "
    "officials.id, officials.created_at, officials.updated_at"
)
CALLER = (
    f"SELECT {_OFFICIAL_COLUMNS} FROM officials JOIN logins ON logins.official_id = officials.id "
    "WHERE officials.id = $1::UUID AND logins.id = $2::UUID AND logins.revoked_at IS NULL"
)
SUBTREE = (
    "WITH RECURSIVE tree(id) AS (SELECT units.id AS id FROM units WHERE units.id = $1::UUID "
    "UNION SELECT units.id AS id FROM units JOIN tree ON units.parent_id = tree.id) "
    "SELECT tree.id FROM tree"
)
KEY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended($1::VARCHAR, $2::INTEGER))"
KEY_ANSWER = (
    "SELECT idempotency_records.caller_id, idempotency_records.key, "
    "idempotency_records.fingerprint, idempotency_records.status_code, idempotency_records.body, "
    "idempotency_records.created_at FROM idempotency_records "
    "WHERE idempotency_records.caller_id = $1::UUID AND idempotency_records.key = $2::VARCHAR"
)
POLICY_VERSION = (
    "SELECT policy_documents.version FROM policy_documents WHERE policy_documents.id = $1::INTEGER"
)


def _ancestry(units: int) -> str:
    """The API's walk up from the origin (and the lodged unit): one statement per unit count."""
    ids = ", ".join(f"${i + 1}::UUID" for i in range(units))
    return (
        "WITH RECURSIVE walk(id, parent_id) AS (SELECT units.id AS id, units.parent_id AS "
        f"parent_id FROM units WHERE units.id IN ({ids}) UNION SELECT units.id AS id, "
        "units.parent_id AS parent_id FROM units JOIN walk ON units.id = walk.parent_id) "
        "SELECT units.name, units.level, units.parent_id, units.lat, units.lon, units.id, "
        "units.created_at, units.updated_at FROM units JOIN walk ON units.id = walk.id"
    )


ANCESTRY = {1: _ancestry(1), 2: _ancestry(2)}
RELATED = (
    "SELECT (SELECT cases.id FROM cases WHERE cases.county_id = $1::UUID AND cases.category = "
    "$2::VARCHAR AND cases.received_at >= $3::TIMESTAMP WITH TIME ZONE AND cases.petitioners @> "
    "$4::JSONB ORDER BY cases.received_at DESC LIMIT $5::INTEGER) AS anon_1, (SELECT cases.id "
    "FROM cases WHERE cases.origin_unit_id = $6::UUID AND cases.category = $7::VARCHAR AND "
    "cases.received_at >= $8::TIMESTAMP WITH TIME ZONE AND cases.received_at < $9::TIMESTAMP "
    "WITH TIME ZONE AND cases.channel = $10::case_channel ORDER BY cases.received_at "
    "LIMIT $11::INTEGER) AS anon_2"
)
NEXT_NUMBER = (
    "INSERT INTO case_number_counters (county_id, year, last) VALUES ($1::UUID, $2::INTEGER, "
    "$3::INTEGER) ON CONFLICT (county_id, year) DO UPDATE SET last = (case_number_counters.last "
    "+ $4::INTEGER) RETURNING case_number_counters.last"
)
INSERT_CASE = (
    "INSERT INTO cases (number, county_id, channel, status, origin_unit_id, lodged_unit_id, "
    "lodged_level, petitioners, headcount, is_collective, category, title, content, demands, "
    "received_at, registered_by, intake_unit_id, complained_official_ids, complained_unit_ids, "
    "source, wants_result, skip_level, confidential, confidential_readers, search_tokens, id, "
    "created_at, updated_at, lookup_secret_hash) VALUES ($1::VARCHAR, $2::UUID, $3::case_channel, "
    "$4::case_status, $5::UUID, $6::UUID, $7::lodged_level, $8::JSONB, $9::INTEGER, "
    "$10::BOOLEAN, $11::VARCHAR, $12::VARCHAR, $13::VARCHAR, $14::VARCHAR, "
    "$15::TIMESTAMP WITH TIME ZONE, $16::UUID, $17::UUID, $18::UUID[], $19::UUID[], "
    "$20::case_source, $21::BOOLEAN, $22::BOOLEAN, $23::BOOLEAN, $24::UUID[], $25::TEXT[], "
    "$26::UUID, $27::TIMESTAMP WITH TIME ZONE, $28::TIMESTAMP WITH TIME ZONE, $29::VARCHAR)"
)
INSERT_EVENT = (
    "INSERT INTO case_events (id, case_id, at, actor_id, action, client, data) VALUES ($1::UUID, "
    "$2::UUID, $3::TIMESTAMP WITH TIME ZONE, $4::UUID, $5::VARCHAR, $6::VARCHAR, $7::JSONB) "
    "RETURNING case_events.seq"
)
HOLDER = (
    f"SELECT {_OFFICIAL_COLUMNS} FROM officials WHERE officials.unit_id = $1::UUID AND "
    "officials.role = $2::official_role AND officials.active IS true "
    "ORDER BY officials.created_at, officials.id LIMIT $3::INTEGER"
)
_TS = "TIMESTAMP WITH TIME ZONE"
_DEADLINE = (
    "case_id, kind, role, official_id, unit_id, starts_at, due_at, status, flags, id, "
    "created_at, updated_at",
    (
        *("UUID", "deadline_kind", "VARCHAR", "UUID", "UUID", _TS, _TS, "deadline_status"),
        *("JSONB", "UUID", _TS, _TS),
    ),
)
_OUTBOX = (
    "id, job, job_id, payload, defer_until, created_at",
    ("UUID", "VARCHAR", "VARCHAR", "JSONB", _TS, _TS),
)


def _insert_rows(table: str, shape: tuple[str, tuple[str, ...]], rows: int) -> str:
    """A multi-row INSERT as SQLAlchemy's batch of one flush sends it."""
    columns, casts = shape
    width = len(casts)
    values = ", ".join(
        "(" + ", ".join(f"${r * width + i + 1}::{cast}" for i, cast in enumerate(casts)) + ")"
        for r in range(rows)
    )
    return f"INSERT INTO {table} ({columns}) VALUES {values}"


INSERT_DEADLINES = {n: _insert_rows("deadlines", _DEADLINE, n) for n in (1, 2)}
INSERT_OUTBOX = {n: _insert_rows("outbox_messages", _OUTBOX, n) for n in (1, 3, 6)}
RATE_COUNT = (
    "SELECT count(*) AS count_1 FROM alerts WHERE alerts.channel = $1::alert_channel AND "
    "alerts.recipient = $2::VARCHAR AND alerts.created_at >= $3::TIMESTAMP WITH TIME ZONE AND "
    "alerts.status != $4::alert_status"
)
INSERT_ALERT = (
    "INSERT INTO alerts (case_id, deadline_id, official_id, contact_index, purpose, channel, "
    "recipient, text, template, template_fields, title, status, attempts, id, created_at, "
    "updated_at) VALUES ($1::UUID, $2::UUID, $3::UUID, $4::INTEGER, $5::VARCHAR, "
    "$6::alert_channel, $7::VARCHAR, $8::VARCHAR, $9::VARCHAR, $10::JSONB, $11::VARCHAR, "
    "$12::alert_status, $13::INTEGER, $14::UUID, $15::TIMESTAMP WITH TIME ZONE, "
    "$16::TIMESTAMP WITH TIME ZONE)"
)
SUBSCRIBERS = (
    "SELECT webhook_subscriptions.url, webhook_subscriptions.event_types, "
    "webhook_subscriptions.secret, webhook_subscriptions.description, "
    "webhook_subscriptions.active, webhook_subscriptions.disabled_reason, "
    "webhook_subscriptions.created_by, webhook_subscriptions.higher_office_id, "
    "webhook_subscriptions.id, webhook_subscriptions.created_at, "
    "webhook_subscriptions.updated_at FROM webhook_subscriptions WHERE "
    "webhook_subscriptions.active IS true AND webhook_subscriptions.higher_office_id IS NULL "
    "AND webhook_subscriptions.event_types @> $1::JSONB"
)
KEEP_ANSWER = (
    "INSERT INTO idempotency_records (caller_id, key, fingerprint, status_code, body, "
    "created_at) VALUES ($1::UUID, $2::VARCHAR, $3::VARCHAR, $4::INTEGER, $5::JSONB, "
    "$6::TIMESTAMP WITH TIME ZONE)"
)
INSERT_FACTS = "INSERT INTO case_stat_facts (case_id, facts) VALUES ($1::UUID, $2::JSONB)"
ADD_COUNTERS = (
    "INSERT INTO stat_counters (unit_id, period, day, key, value) SELECT * FROM "
    "unnest(CAST($1 AS uuid[]), CAST($2 AS varchar[]), CAST($3 AS date[]), "
    "CAST($4 AS varchar[]), CAST($5 AS bigint[])) ON CONFLICT (unit_id, period, day, key) "
    "DO UPDATE SET value = stat_counters.value + excluded.value"
)
INSERT_AUDIT = (
    "INSERT INTO audit_entries (official_id, action, method, route, path, status, client, ip, "
    "query, id, created_at, updated_at) VALUES ($1::UUID, $2::VARCHAR, $3::VARCHAR, "
    "$4::VARCHAR, $5::VARCHAR, $6::INTEGER, $7::VARCHAR, $8::VARCHAR, $9::JSONB, $10::UUID, "
    "$11::TIMESTAMP WITH TIME ZONE, $12::TIMESTAMP WITH TIME ZONE)"
)
DISPATCHED = (
    "UPDATE outbox_messages SET dispatched_at = now() WHERE id = ANY($1::uuid[]) "
    "AND dispatched_at IS NULL"
)
# A Fernet token of an 11-digit number is this long; the stand-in keeps the row's size.
SEALED_PHONE_LENGTH = 100


@dataclass(frozen=True)
class Territory:
    """The bench's territory as the fair route needs it: the county and the town, and the
    town's petition staff who registers (their official and login ids, as in their token)."""

    county: str
    town: str
    staff: str
    login: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Territory | None:
        """From FAIR_COUNTY_ID, FAIR_TOWN_ID, FAIR_STAFF_ID and FAIR_LOGIN_ID, if all set."""
        names = ("FAIR_COUNTY_ID", "FAIR_TOWN_ID", "FAIR_STAFF_ID", "FAIR_LOGIN_ID")
        values = [env.get(n) for n in names]
        if not all(values):
            return None
        return cls(*(str(v) for v in values))


@dataclass(frozen=True)
class Registration:
    """What the route hands over: the parsed body, its bytes, and the headers that count."""

    body: dict[str, Any]
    raw: bytes
    key: str | None
    client: str | None
    ip: str | None
    path: str


@dataclass
class _Tx:
    """The ids of the outbox rows written, for marking them dispatched after the commit."""

    outbox: list[uuid.UUID]
    request_id: str


# A deadline to open: kind, role, official, unit, start, due, flags.
Planned = tuple[str, str, str | None, str, datetime, datetime, list[str]]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _end_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.max, CHINA).astimezone(UTC)


def _search_tokens(number: str, body: dict[str, Any], sealed: list[dict[str, Any]]) -> list[str]:
    """The number's parts, the bigrams of the title, content and demands, and a hashed token
    per petitioner's name and number: about as many as the API's `case_tokens` writes."""
    text = f"{body['title']}{body['content']}{body.get('demands') or ''}"
    words = {text[i : i + 2] for i in range(len(text) - 1)}
    people = {f"~{p[k][:16]}" for p in sealed for k in ("name_hash", "phone_hash")}
    return sorted({*number.lower().split("-"), *words, *people})


async def _open_deadlines(
    conn: Any,
    tx: _Tx,
    case_id: uuid.UUID,
    rows: Sequence[Planned],
) -> list[uuid.UUID]:
    """One INSERT of the deadlines and one of their jobs (the flag when due, the reminders)."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in rows]
    params: list[Any] = []
    jobs: list[Any] = []
    for deadline_id, (kind, role, official, unit, starts, due, flags) in zip(
        ids, rows, strict=True
    ):
        params += [case_id, kind, role, official, unit, starts, due, "open", _dumps(flags)]
        params += [deadline_id, now, now]
        flag_id = uuid.uuid4()
        tx.outbox.append(flag_id)
        jobs += [flag_id, "flag_due", flag_due_job_id(due)]
        jobs += [_dumps({"args": [str(deadline_id)]}), flag_due_tick(due), now]
        for fraction in REMINDERS:
            remind_id = uuid.uuid4()
            tx.outbox.append(remind_id)
            payload = {"args": [str(deadline_id), fraction], "request_id": tx.request_id}
            jobs += [remind_id, "remind_deadline", remind_job_id(deadline_id, fraction)]
            jobs += [_dumps(payload), starts + (due - starts) * fraction, now]
    await conn.execute(INSERT_DEADLINES[len(rows)], *params)
    await conn.execute(INSERT_OUTBOX[len(rows) * (1 + len(REMINDERS))], *jobs)
    return ids


async def _summon(
    conn: Any,
    tx: _Tx,
    case_id: uuid.UUID,
    number: str,
    body: dict[str, Any],
    duty: tuple[str, str, timedelta],
    lodged: str,
    now: datetime,
) -> None:
    """One official summoned to the scene: the post's holder, the arrival deadline, the
    timeline, the rate counts and the SMS (and its delivery job)."""
    unit, role, within = duty
    holder = await conn.fetchrow(HOLDER, unit, role, 1)
    official = str(holder["id"]) if holder is not None else None
    due = now + within
    flags = [] if holder is not None else ["post_vacant"]
    (deadline_id,) = await _open_deadlines(
        conn, tx, case_id, [("arrival", role, official, unit, now, due, flags)]
    )
    summoned = {
        "role": role,
        "due_at": due.isoformat(),
        "unit_id": unit,
        "deadline_id": str(deadline_id),
        "official_id": official,
    }
    await conn.fetchval(
        INSERT_EVENT, uuid.uuid4(), case_id, now, None, "summoned", None, _dumps(summoned)
    )
    if holder is None:
        return
    phone = holder["phone"]
    await conn.fetchval(RATE_COUNT, "sms", phone, now - RATE_WINDOW, "bundled")
    await conn.fetchval(RATE_COUNT, "sms", phone, now - SMS_CAP_WINDOW, "bundled")
    local_due = due.astimezone(CHINA)
    fields = {
        "title": body["title"],
        "lodged": lodged,
        "within": f"{int(within.total_seconds()) // 60}分钟",
        "due_local": f"{local_due.month}月{local_due.day}日 {local_due:%H:%M}",
        "headcount": body["headcount"],
        "case_number": number,
        "official_name": holder["name"],
    }
    text = (
        f"【到位通知】{number}:{fields['headcount']}人到{lodged}上访({fields['title']})。请您于"
        f"{fields['due_local']}前({fields['within']}内)到场接访,到场后签到。"
    )
    alert_id = uuid.uuid4()
    # Inserted as sent: nobody delivers the fair route's summons, and a pending alert would be
    # handed to the worker by its stale-alert sweep two minutes later, in another step.
    await conn.execute(
        INSERT_ALERT,
        case_id,
        deadline_id,
        holder["id"],
        0,
        "summons",
        "sms",
        phone,
        text,
        "summons",
        _dumps(fields),
        "到位通知",
        "sent",
        0,
        alert_id,
        now,
        now,
    )
    message = {
        "to": phone,
        "text": text,
        "event": None,
        "title": "到位通知",
        "channel": "sms",
        "payload": None,
        "alert_id": str(alert_id),
    }
    job_id = uuid.uuid4()
    tx.outbox.append(job_id)
    await conn.execute(
        INSERT_OUTBOX[1],
        job_id,
        "deliver_alert",
        deliver_alert_job_id(alert_id),
        _dumps({"args": [message], "request_id": tx.request_id}),
        None,
        datetime.now(UTC),
    )


class DispatchMarks:
    """Outbox rows committed, marked dispatched together soon after (the API's
    `DispatchAfterCommit`, without the enqueueing)."""

    def __init__(self, pool: Any, delay: float = 0.05) -> None:
        self.pool, self.delay = pool, delay
        self.ids: list[uuid.UUID] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, ids: Sequence[uuid.UUID]) -> None:
        """Mark these within `delay`."""
        self.ids.extend(ids)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._soon())

    async def _soon(self) -> None:
        await asyncio.sleep(self.delay)
        await self.flush()

    async def flush(self) -> None:
        """Mark every row added so far."""
        ids, self.ids = self.ids, []
        if ids:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(DISPATCHED, ids)


async def register(
    conn: Any, request: Registration, territory: Territory, marks: DispatchMarks
) -> dict[str, str] | None:
    """Register the body's case as the API does, in one transaction on `conn`, then leave its
    jobs to be marked dispatched; its id and number, or None when its `Idempotency-Key` is held
    by another request (the API's 409)."""
    body = request.body
    visit = body["channel"] == "visit"
    origin = body["origin_unit_id"]
    lodged_unit = body["lodged_unit_id"] if visit else None
    petitioners = body["petitioners"]
    headcount = int(body["headcount"]) if visit else len(petitioners)
    now = datetime.now(UTC)
    local_now = now.astimezone(CHINA)
    day_start = datetime.combine(local_now.date(), time(), CHINA)
    tx = _Tx([], uuid.uuid4().hex)
    staff = territory.staff
    async with conn.transaction():
        await conn.fetchrow(CALLER, staff, territory.login)
        await conn.fetch(SUBTREE, territory.town)
        if request.key is not None:
            if not await conn.fetchval(KEY_LOCK, f"{staff}:{request.key}", 0):
                return None
            kept = await conn.fetchrow(KEY_ANSWER, staff, request.key)
            if kept is not None:
                stored: dict[str, str] = json.loads(kept["body"])
                return {"id": stored["id"], "number": stored["number"]}
        await conn.fetchval(POLICY_VERSION, POLICY_ROW)
        walk = (origin, lodged_unit) if visit else (origin,)
        chain = await conn.fetch(ANCESTRY[len(walk)], *walk)
        sealed = [
            {
                "name": p["name"],
                "name_hash": hashlib.sha256(p["name"].encode()).hexdigest(),
                "address": p.get("address"),
                "phone_enc": p["phone"].ljust(SEALED_PHONE_LENGTH, "="),
                "phone_hash": hashlib.sha256(p["phone"].encode()).hexdigest(),
                "is_representative": p.get("is_representative", False),
            }
            for p in petitioners
        ]
        await conn.fetchrow(
            RELATED,
            territory.county,
            body["category"],
            now - REPEAT_WINDOW,
            _dumps([{"phone_hash": p["phone_hash"]} for p in sealed]),
            1,
            origin,
            body["category"],
            day_start,
            day_start + timedelta(days=1),
            "grid",
            1,
        )
        seq = await conn.fetchval(NEXT_NUMBER, territory.county, local_now.year, 1, 1)
        number = f"XF-{local_now.year}-{seq:06d}"
        case_id = uuid.uuid4()
        collective = headcount >= COLLECTIVE_FROM
        intake_unit = lodged_unit or territory.town
        await conn.execute(
            INSERT_CASE,
            number,
            territory.county,
            body["channel"],
            "registered",
            origin,
            lodged_unit,
            "town" if visit else body["lodged_level"],
            _dumps([{k: v for k, v in p.items() if k != "name_hash"} for p in sealed]),
            headcount,
            collective,
            body["category"],
            body["title"],
            body["content"],
            body.get("demands"),
            now,
            staff,
            intake_unit,
            [],
            [],
            "own",
            False,
            False,
            False,
            [],
            _search_tokens(number, body, sealed),
            case_id,
            now,
            now,
            secrets.token_hex(32),  # the lookup secret's keyed hash, in the INSERT as the API
        )
        registered = {
            "number": number,
            "channel": body["channel"],
            "headcount": headcount,
            "repeat_of": None,
            "possible_duplicate_of": None,
        }
        await conn.fetchval(
            INSERT_EVENT,
            uuid.uuid4(),
            case_id,
            now,
            staff,
            "registered",
            request.client,
            _dumps(registered),
        )
        if visit:
            town_name = next(u["name"] for u in chain if str(u["id"]) == lodged_unit)
            duties = [(origin, "chief", CHIEF_WITHIN)]
            if headcount >= DEPUTY_FROM:
                duties.append((lodged_unit, "deputy", LEADER_WITHIN))
            if headcount >= LEADER_FROM:
                duties.append((lodged_unit, "chief", LEADER_WITHIN))
            for duty in duties:
                await _summon(conn, tx, case_id, number, body, duty, town_name, now)
        desk = await conn.fetchrow(HOLDER, intake_unit, "petition_staff", 1)
        desk_id = str(desk["id"]) if desk is not None else None
        due = _end_of_local_day(local_now.date() + timedelta(days=INTAKE_DAYS))
        intake: list[Planned] = [
            (kind, "petition_staff", desk_id, intake_unit, now, due, [])
            for kind in ("disposition", "acceptance_notice")
        ]
        deadline_ids = await _open_deadlines(conn, tx, case_id, intake)
        await conn.fetch(SUBSCRIBERS, '["case.created"]')
        answer = {"id": str(case_id), "number": number}
        if request.key is not None:
            kept_body = body | answer | {"status": "registered", "received_at": now.isoformat()}
            kept_body["deadlines"] = [str(d) for d in deadline_ids]
            await conn.execute(
                KEEP_ANSWER,
                staff,
                request.key,
                hashlib.sha256(request.raw).hexdigest(),
                201,
                _dumps(kept_body),
                datetime.now(UTC),
            )
        keys = [
            "cases",
            f"category:{body['category']}",
            f"channel:{body['channel']}",
            "level:town",
            "status:registered",
        ]
        if collective:
            keys.append("collective")
        await conn.execute(INSERT_FACTS, case_id, _dumps(dict.fromkeys(keys, 1)))
        month = local_now.date().replace(day=1)
        periods = [("d", local_now.date()), ("m", month)]
        rows = [(u["id"], p, d, k) for u in chain for p, d in periods for k in keys]
        await conn.execute(
            ADD_COUNTERS,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            [1] * len(rows),
        )
        await conn.execute(
            INSERT_AUDIT,
            staff,
            "change",
            "POST",
            request.path,
            request.path,
            201,
            request.client,
            request.ip,
            "{}",
            uuid.uuid4(),
            datetime.now(UTC),
            datetime.now(UTC),
        )
    marks.add(tx.outbox)
    return answer
