"""The web application: routes, templates, sessions, CSRF, audio, and the JSON twins under ``/api``.

Starlette with Jinja2 (autoescape on) and uvicorn. Each page's view (``engine.web.views``) returns data;
the same endpoint answers ``/path`` with the page and ``/api/path`` with that data as JSON, so the two
never drift apart. Reading is open to whoever reaches the server (it binds to 127.0.0.1 by default;
``web.read_requires_sign_in`` closes it); every write needs a signed-in reviewer and a CSRF token
(asgi-csrf, the double-submit cookie Datasette uses). Audio is served only for calls in the store, from
the path the store recorded; no path from a request is ever opened.
"""

from __future__ import annotations

import gzip
import mimetypes
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from asgi_csrf import asgi_csrf
from pydantic_core import to_jsonable_python
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.cases.config import CasesConfig
from engine.pages import PLOTLY_JS
from engine.store import EventKindsConfig, Store
from engine.store.queries import find_call
from engine.store.reviewing import acknowledge_alert
from engine.store.sampling import draw_sample
from engine.summary import SummaryConfig
from engine.web import auth, views
from engine.web.case_routes import CaseRoutes
from engine.web.config import WebConfig
from engine.web.standalone import recording_file
from engine.web.templating import STATIC, template_environment

# Plotly draws with inline styles; everything else (scripts included) comes from this server only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def jsonable(data: Any) -> Any:
    return to_jsonable_python(data)


class SecurityHeaders:
    """Adds the content security policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


@lru_cache(maxsize=1)
def _plotly_gzipped() -> bytes:
    return gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=6)


class WebApp:
    """The routes over one store; ``create_app`` wraps them in the middleware."""

    def __init__(self, store: Store, settings: views.Settings, audio_root: Path | None = None,
                 cases: CasesConfig | None = None) -> None:
        self.store = store
        self.settings = settings
        self.audio_root = (audio_root or Path.cwd()).resolve()
        self.cases = CaseRoutes(self, cases)
        self.drivers_cache = views.DriversCache()
        self._recordings: dict[str, Path | None] = {}
        self.templates = Jinja2Templates(env=template_environment())

    # -- rendering ------------------------------------------------------------------------------------

    def respond(self, request: Request, template: str, data: Any, status: int = 200, **page: Any) -> Response:
        """The page, or under ``/api`` the same data as JSON."""
        if request.url.path.startswith("/api/"):
            return JSONResponse(jsonable(data), status_code=status)
        context = {"data": data, "reviewer": auth.signed_in_reviewer(request), "web": self.settings.web,
                   "csrftoken": request.scope.get("csrftoken", lambda: ""), "path": request.url.path, **page}
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def error(self, request: Request, status: int, message: str) -> Response:
        return self.respond(request, "error.html", {"error": message}, status=status)

    def readable(self, request: Request) -> None:
        if self.settings.web.read_requires_sign_in and not auth.signed_in_reviewer(request):
            raise HTTPException(401, "sign in to read")

    def writer(self, request: Request) -> str:
        reviewer = auth.signed_in_reviewer(request)
        if not reviewer:
            raise HTTPException(403, "sign in as a reviewer first: only signed-in reviewers may change anything")
        return reviewer

    # -- pages ----------------------------------------------------------------------------------------

    def dashboard(self, request: Request) -> Response:
        self.readable(request)
        try:
            day = views.parse_day(request.query_params.get("date"))
        except views.BadParameter as exc:
            return self.error(request, 400, str(exc))
        is_api = request.url.path.startswith("/api/")
        data = views.dashboard(self.store, day, self.settings, self.drivers_cache, compute_drivers=is_api)
        if data["summary"] is None:
            return self.respond(request, "dashboard.html", data, plots={})
        return self.respond(request, "dashboard.html", data, plots=views.dashboard_plots(data))

    def drivers(self, request: Request) -> Response:
        """The day's call drivers: a fragment the dashboard loads when they were not ready, or JSON."""
        self.readable(request)
        try:
            day = views.parse_day(request.query_params.get("date")) or self.store.latest_call_date()
        except views.BadParameter as exc:
            return self.error(request, 400, str(exc))
        if day is None:
            return self.error(request, 404, "no calls stored yet")
        drivers = views.drivers_of_day(self.store, day, self.settings, self.drivers_cache) or []
        top = drivers[: self.settings.web.top_drivers]
        data = {"day": day, "drivers": drivers, "top_drivers_share": round(sum(d.share for d in top), 4)}
        return self.respond(request, "drivers.html", data)

    def search(self, request: Request) -> Response:
        self.readable(request)
        params = dict(request.query_params)
        try:
            data = views.search(self.store, params, self.settings)
        except views.BadParameter as exc:
            return self.error(request, 400, str(exc))
        pages = {n: urlencode({**params, "page": n}) for n in {1, data["page"] - 1, data["page"] + 1, data["pages"]}
                 if 1 <= n <= data["pages"]}
        return self.respond(request, "calls.html", data, params=params, page_links=pages)

    def call(self, request: Request) -> Response:
        self.readable(request)
        page = views.call_page(self.store, request.path_params["ref"], self.settings)
        if page is None:
            return self.error(request, 404, "no call with this id in the store")
        if request.url.path.startswith("/api/"):
            analysis = page.analysis.model_dump(mode="json") if page.analysis else None
            return JSONResponse(jsonable({"call": page.call, "reviews": page.reviews, "analysis": analysis}))
        mine = next((r for r in page.reviews if r["reviewer"] == auth.signed_in_reviewer(request)), None)
        return self.respond(request, "call.html", page, overrides=views.item_overrides(page.reviews), mine=mine,
                            audio_url=f"/audio/{page.call.call_key}", plots=page.report.plots if page.report else {},
                            standalone=False)

    def audio(self, request: Request) -> Response:
        """The recording of a call in the store (range requests let the player seek)."""
        self.readable(request)
        call = find_call(self.store, request.path_params["ref"])
        if call is None:
            return self.error(request, 404, "no call with this id in the store")
        path = self.recording_path(call.call_key, call.source)
        if path is None:
            return self.error(request, 404, "the redacted copy of this call's recording is not on this server: "
                                            "redaction was on, so the original is never served")
        if not path.is_file():
            return self.error(request, 404, "the recording of this call is not on this server")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type, headers={"cache-control": "private, max-age=3600"})

    def recording_path(self, call_key: str, source: str) -> Path | None:
        """The file to play: the redacted copy when redaction was on (None when it is missing), else the
        recording the store names. Remembered per call: a player's range requests ask many times."""
        if call_key not in self._recordings:
            analysis = self.store.analysis(call_key)
            redaction = analysis.redaction if analysis is not None else None
            self._recordings[call_key] = recording_file(source, redaction, self.audio_root)
        return self._recordings[call_key]

    def review_queue(self, request: Request) -> Response:
        reviewer = auth.signed_in_reviewer(request)
        if not reviewer:
            if request.url.path.startswith("/api/"):
                return JSONResponse({"error": "sign in to see your review queue"}, status_code=401)
            return RedirectResponse("/login?next=/review", status_code=303)
        return self.respond(request, "review.html", views.queue(self.store, reviewer))

    def agreement(self, request: Request) -> Response:
        self.readable(request)
        report = views.agreement(self.store, self.settings)
        names = {key: call.call_id for key in {d.call_id for d in report.disagreements}
                 if (call := self.store.call(key)) is not None}
        return self.respond(request, "agreement.html", report, names=names)

    def login_form(self, request: Request) -> Response:
        return self.respond(request, "login.html", {"next": _safe_next(request.query_params.get("next")),
                                                    "failed": False})

    # -- writes ---------------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        form = await request.form()
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "")))
        if not await run_in_threadpool(auth.check_password, self.store, name, password):
            return self.respond(request, "login.html", {"next": target, "failed": True}, status=401)
        auth.sign_in(request, name)
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        auth.sign_out(request)
        return RedirectResponse("/", status_code=303)

    async def save_review(self, request: Request) -> Response:
        """A reviewer's overrides of a call's items and verdict, with a comment, kept beside the engine's."""
        reviewer = self.writer(request)
        page = await run_in_threadpool(views.call_page, self.store, request.path_params["ref"], self.settings)
        if page is None or page.analysis is None or page.analysis.scorecard is None:
            return self.error(request, 404, "no scored call with this id in the store")
        form = await request.form()
        try:
            overrides, verdict, comment = _review_from_form(dict(form), page.analysis)
        except ValueError as exc:
            return self.error(request, 400, str(exc))
        await run_in_threadpool(self.store.add_review, reviewer, page.call.call_key, overrides, comment, verdict)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"saved": True, "overrides": overrides, "verdict": verdict})
        return RedirectResponse(f"/calls/{page.call.call_key}#review", status_code=303)

    async def acknowledge(self, request: Request) -> Response:
        reviewer = self.writer(request)
        form = await request.form()
        alert = str(form.get("alert_id", ""))
        done = await run_in_threadpool(acknowledge_alert, self.store, alert, reviewer)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"acknowledged": done}, status_code=200 if done else 409)
        return RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)

    async def draw(self, request: Request) -> Response:
        """Draw more calls for the signed-in reviewer, as ``callqa sample`` does."""
        reviewer = self.writer(request)
        form = await request.form()
        strategy = str(form.get("strategy", "random"))
        try:
            n = int(str(form.get("n", "5")))
        except ValueError:
            return self.error(request, 400, "n: expected a whole number")
        if strategy not in ("random", "stratified", "risk") or not 1 <= n <= 100:
            return self.error(request, 400, "use random, stratified or risk, and 1 to 100 calls")
        seed = secrets.randbelow(2**31)
        await run_in_threadpool(draw_sample, self.store, reviewer, n, strategy, seed)
        return RedirectResponse("/review", status_code=303)

    # -- static ---------------------------------------------------------------------------------------

    def plotly_js(self, request: Request) -> Response:
        """plotly.js from the installed plotly package (no CDN), gzipped once."""
        headers = {"cache-control": "public, max-age=86400"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(_plotly_gzipped(), media_type="text/javascript",
                            headers={**headers, "content-encoding": "gzip", "vary": "Accept-Encoding"})
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)

    def routes(self) -> list[Route | Mount]:
        page: Callable[..., Any]
        routes: list[Route | Mount] = []
        for path, page in (("/", self.dashboard), ("/calls", self.search), ("/calls/{ref}", self.call),
                           ("/review/agreement", self.agreement), ("/drivers", self.drivers)):
            routes.append(Route(path, page, methods=["GET"]))
        routes += [
            Route("/api/summary", self.dashboard, methods=["GET"]),
            Route("/api/drivers", self.drivers, methods=["GET"]),
            Route("/api/calls", self.search, methods=["GET"]),
            Route("/api/calls/{ref}", self.call, methods=["GET"]),
            Route("/api/review/queue", self.review_queue, methods=["GET"]),
            Route("/api/review/agreement", self.agreement, methods=["GET"]),
            Route("/review", self.review_queue, methods=["GET"]),
            Route("/audio/{ref}", self.audio, methods=["GET", "HEAD"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/calls/{ref}/review", self.save_review, methods=["POST"]),
            Route("/api/calls/{ref}/review", self.save_review, methods=["POST"]),
            Route("/alerts/ack", self.acknowledge, methods=["POST"]),
            Route("/api/alerts/ack", self.acknowledge, methods=["POST"]),
            Route("/review/draw", self.draw, methods=["POST"]),
            Route("/static/plotly.min.js", self.plotly_js, methods=["GET"]),
            *self.cases.routes(),
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        ]
        return routes

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return self.error(request, exc.status_code, str(exc.detail))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a link send a reviewer anywhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _review_from_form(form: dict[str, Any], analysis: Any) -> tuple[dict[str, Any], str | None, str]:
    """Overrides from the review form: ``score:<item>``, ``passed:<item>`` (pass/fail), ``note:<item>``,
    ``verdict`` and ``comment``. Only items the reviewer judged are kept."""
    overrides: dict[str, Any] = {}
    for item in analysis.scorecard.items:
        raw_score = str(form.get(f"score:{item.item_id}", "")).strip()
        raw_pass = str(form.get(f"passed:{item.item_id}", "")).strip()
        note = str(form.get(f"note:{item.item_id}", "")).strip()
        judged: dict[str, Any] = {}
        if raw_score:
            try:
                score = float(raw_score)
            except ValueError:
                raise ValueError(f"{item.item_id}: the score must be a number") from None
            if not 0 <= score <= item.max_score:
                raise ValueError(f"{item.item_id}: the score must be between 0 and {item.max_score:g}")
            judged["score"] = score
        if raw_pass:
            if raw_pass not in ("pass", "fail"):
                raise ValueError(f"{item.item_id}: choose pass or fail")
            judged["passed"] = raw_pass == "pass"
        if judged:
            overrides[item.item_id] = {**judged, **({"note": note} if note else {})}
    verdict = str(form.get("verdict", "")).strip() or None
    comment = str(form.get("comment", "")).strip()
    if verdict is not None and len(verdict) > 32:
        raise ValueError("a verdict is at most 32 characters")
    if not overrides and verdict is None and not comment:
        raise ValueError("nothing to save: change a score, a pass/fail or the verdict, or write a comment")
    return overrides, verdict, comment


def create_app(store: Store, web: WebConfig | None = None, summary: SummaryConfig | None = None,
               kinds: EventKindsConfig | None = None, audio_root: Path | None = None,
               cases: CasesConfig | None = None) -> ASGIApp:
    """The ASGI application over ``store`` (which it does not close); ``cases`` locates the case library's rules."""
    web = web or WebConfig()
    settings = views.Settings(web=web, summary=summary or SummaryConfig(), kinds=kinds or EventKindsConfig())
    site = WebApp(store, settings, audio_root, cases)
    secret = web.secret or os.environ.get("CALLQA_WEB_SECRET") or secrets.token_urlsafe(32)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Group the latest day's call drivers in the background: the first dashboard then has them.
        def warm() -> None:
            day = store.latest_call_date()
            if day is not None:
                views.drivers_of_day(store, day, settings, site.drivers_cache)

        threading.Thread(target=warm, name="callqa-drivers", daemon=True).start()
        yield

    app = Starlette(
        routes=site.routes(),
        middleware=[
            Middleware(GZipMiddleware, minimum_size=1000, compresslevel=6),
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=secret, session_cookie="callqa_session",
                       max_age=web.session_max_age_s, same_site="strict"),
        ],
        exception_handlers={HTTPException: site.http_error},
        lifespan=lifespan,
    )
    app.state.site = site
    # CSRF outermost of the writes: a POST without the token never reaches a route. /login is protected
    # even before any cookie exists (asgi-csrf otherwise lets cookie-less posts through).
    return asgi_csrf(app, signing_secret=secret, always_protect={"/login", "/logout"},  # type: ignore[no-any-return]
                     cookie_samesite="Strict")
