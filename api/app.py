"""The FastAPI application: lifespan resources, routers, error rendering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.alerts.router import router as alerts_router
from api.alerts.service import ALERT_FAILED
from api.assessment.router import router as assessment_router
from api.audit.router import router as audit_router
from api.audit.service import record_refusal, record_success_before_commit
from api.auth.dependencies import SUBTREE_CASES_GRANTED
from api.auth.passwords import PASSWORD_MIN_LENGTH
from api.auth.router import LOGIN_SCHEMAS, service_tokens_router
from api.auth.router import router as auth_router
from api.bulletin.router import router as bulletin_router
from api.calendar.router import router as calendar_router
from api.cases.router import router as cases_router
from api.categories.router import router as categories_router
from api.categories.service import KEPT_VOCABULARY, KeptVocabulary
from api.dashboard.router import router as dashboard_router
from api.deadlines.router import router as deadlines_router
from api.decisions.router import router as decisions_router
from api.docs.router import router as docs_router
from api.docs.tags import DESCRIPTION, TAGS
from api.escalations.router import router as escalations_router
from api.escalations.service import fail_over
from api.events.router import router as webhooks_router
from api.events.service import on_alert_failed
from api.health.router import router as health_router
from api.higher_offices.router import router as higher_offices_router
from api.inbound.router import router as inbound_router
from api.internal.router import router as internal_router
from api.kit import openapi_errors
from api.kit.boundary import AppState, CommitHooks
from api.kit.db import create_engine, create_sessionmaker
from api.kit.errors import install_handlers
from api.kit.i18n import load_catalogues
from api.kit.middleware import Guard, RequestContext
from api.kit.polling import Revalidation, bump_if_changed
from api.kit.uow import PUBLIC_BASE_URL
from api.lookup.router import router as lookup_router
from api.materials.router import router as materials_router
from api.materials.storage import MATERIAL_STORE, store_from_settings
from api.notices.router import router as notices_router
from api.officials.router import router as officials_router
from api.officials.service import ADMIN_USERNAME, ensure_admin
from api.outbox.service import DispatchAfterCommit
from api.policies.router import router as policies_router
from api.policies.service import PARSED_POLICY, ParsedPolicy, bureau_reads_subtree
from api.prevention.router import router as prevention_router
from api.privacy import access_log
from api.privacy.crypto import PII_VAULT, Vault
from api.reception.router import router as reception_router
from api.reports.router import router as reports_router
from api.screening.router import router as screening_router
from api.search.router import router as search_router
from api.sensitive.router import router as sensitive_router
from api.stats.counting import count_uncounted, settle_before_commit
from api.stats.router import router as stats_router
from api.timeline.owners import attribute_before_commit
from api.transfers.router import router as transfers_router
from api.units.repository import KNOWN_SUBTREES, KnownSubtrees
from api.units.router import router as units_router
from shared import logs
from shared.redis_connect import api_pool
from shared.settings import Settings, get_settings

log = logging.getLogger("api")


async def count_earlier_cases(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Count the cases registered before the dashboard's counters existed, a batch per
    transaction, in the background (figures are complete once it ends)."""
    try:
        after = None
        while True:
            async with sessionmaker() as session:
                after = await count_uncounted(session, after)
                await session.commit()
            if after is None:
                return
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("dashboard: counting earlier cases failed; the next start resumes it")


# The routes that take files (their bodies may be up to MAX_UPLOAD_BYTES, binary).
UPLOAD_PATHS = re.compile(r"/v1/(cases/[^/]+/(materials|uploads(/[^/]+)?)|offline-reports)")


def commit_hooks(dispatch: DispatchAfterCommit) -> CommitHooks:
    """What the rooms want done around every commit of the request boundary, in order:
    before it the dashboard's figures settled, the counties whose data changed found, and the
    request audited; after it those counties' data versions bumped (ETags), the recorded jobs
    handed to arq."""
    return CommitHooks(
        before_commit=[settle_before_commit, attribute_before_commit, record_success_before_commit],
        after_commit=[bump_if_changed, dispatch],
        on_refusal=[record_refusal],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; resources are opened in the lifespan, not at import."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure(settings.log_level, settings.log_format)
        access_log.install()
        load_catalogues()  # the errors' Chinese, read now rather than at the first error
        if not settings.jwt_secret:
            log.warning("JWT_SECRET is not set: tokens will not survive a restart")
            settings.jwt_secret = secrets.token_urlsafe(32)
        vault = Vault.from_settings(settings)  # no keys, no start: never store numbers in clear
        public_base_url = settings.require_public_base_url()  # no links to 127.0.0.1 in SMS
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        store = store_from_settings(settings)
        sessionmaker = create_sessionmaker(
            engine,
            {
                PUBLIC_BASE_URL: public_base_url,
                PII_VAULT: vault,
                ALERT_FAILED: (on_alert_failed, fail_over),
                PASSWORD_MIN_LENGTH: settings.password_min_length,
                MATERIAL_STORE: store,
                PARSED_POLICY: ParsedPolicy(),
                KNOWN_SUBTREES: KnownSubtrees(),
                SUBTREE_CASES_GRANTED: bureau_reads_subtree,
                KEPT_VOCABULARY: KeptVocabulary(),
            },
        )
        pool = api_pool(settings)
        arq = ArqRedis(pool, default_queue_name=settings.arq_queue)
        dispatch = DispatchAfterCommit(sessionmaker)
        app.state.desk = AppState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            arq=arq,
            hooks=commit_hooks(dispatch),
        )
        async with sessionmaker() as session:
            created = await ensure_admin(session, settings.admin_password)
            await session.commit()
        if created is not None:
            log.warning("created account %r; password: %s", ADMIN_USERNAME, created)
            print(
                f"Petition Desk: admin account {ADMIN_USERNAME!r}, password: {created}", flush=True
            )
        backfill = asyncio.create_task(count_earlier_cases(sessionmaker))
        try:
            yield
        finally:
            backfill.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await backfill  # before the engine it uses is disposed
            await dispatch.close()
            await arq.aclose()
            await pool.aclose()
            await engine.dispose()
            await store.aclose()

    app = FastAPI(
        title="Petition Desk",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # served by `api.docs` from the app's own files (FastAPI's load from a public CDN)
        docs_url=None,
        redoc_url=None,
    )
    install_handlers(app, settings.default_language)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
        )
    app.add_middleware(Revalidation)
    app.add_middleware(
        Guard,
        max_body_bytes=settings.max_body_bytes,
        upload_paths=UPLOAD_PATHS,
        max_upload_bytes=settings.max_upload_bytes,
        default_language=settings.default_language,
    )
    app.add_middleware(RequestContext)  # outermost: ids and timings cover every answer
    for router in (
        health_router,
        auth_router,
        service_tokens_router,
        audit_router,
        units_router,
        officials_router,
        cases_router,
        materials_router,
        notices_router,
        lookup_router,
        deadlines_router,
        escalations_router,
        alerts_router,
        policies_router,
        calendar_router,
        higher_offices_router,
        categories_router,
        transfers_router,
        reports_router,
        screening_router,
        search_router,
        sensitive_router,
        reception_router,
        decisions_router,
        bulletin_router,
        stats_router,
        prevention_router,
        assessment_router,
        dashboard_router,
        docs_router,
        webhooks_router,
        inbound_router,
        internal_router,
    ):
        app.include_router(router)
    openapi_errors.install(app, LOGIN_SCHEMAS)
    return app


app = create_app()
