"""The voice-case routes of ``callqa serve``: the queue and library, a case page, its clip, the trainer's actions,
and agents' levels with their assessments.

Pages and their JSON twins under ``/api`` come from the same data (``engine.web.cases``). Every write needs
a signed-in reviewer (the trainer) and the CSRF token, like the other writes; a form answers with a 303
back to the case, the API with the case as JSON; a request the library refuses (``CaseError``: the case is
in the wrong state) is a 409 page, a bad value a 400 page. Posting answers to a test-half question stores
nothing and needs no sign-in: it only shows the references beside the reader's own answers.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.cases.config import CasesConfig
from engine.cases.export import case_css
from engine.cases.records import VoiceCase
from engine.cases.repository import CaseError, CaseRepository
from engine.store import Store
from engine.web import auth
from engine.web import cases as views
from engine.web.views import BadParameter, Settings


class Site(Protocol):
    """What the case routes use of the application that mounts them (``engine.web.app.WebApp``).

    A protocol, not the class: the application imports these routes, so they must not import it back.
    """

    store: Store
    settings: Settings
    audio_root: Path

    def respond(self, request: Request, template: str, data: Any, status: int = 200, **page: Any) -> Response: ...

    def error(self, request: Request, status: int, message: str) -> Response: ...

    def readable(self, request: Request) -> None: ...

    def writer(self, request: Request) -> str: ...


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _wav_response(request: Request, wav: bytes) -> Response:
    """The clip's bytes, with one HTTP range honoured (a player seeks with ranges)."""
    headers = {"accept-ranges": "bytes", "cache-control": "private, max-age=600"}
    wanted = request.headers.get("range", "")
    if wanted.startswith("bytes=") and "," not in wanted:
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        try:
            start = int(first) if first else max(0, len(wav) - int(last))
            end = min(int(last), len(wav) - 1) if first and last else len(wav) - 1
        except ValueError:
            start, end = -1, -1
        if not 0 <= start <= end < len(wav):
            return Response(status_code=416, headers={"content-range": f"bytes */{len(wav)}"})
        return Response(wav[start:end + 1], status_code=206, media_type="audio/wav",
                        headers={**headers, "content-range": f"bytes {start}-{end}/{len(wav)}"})
    return Response(wav, media_type="audio/wav", headers=headers)


class CaseRoutes:
    """The case pages over the site's store; ``WebApp.routes`` mounts ``routes()``."""

    def __init__(self, site: Site, config: CasesConfig | None = None) -> None:
        self.site = site
        self.config = config or CasesConfig()
        self.clips = views.ClipCache()

    @cached_property
    def repo(self) -> CaseRepository:
        """The library, with its rules loaded on first use (the other pages never need them)."""
        return CaseRepository(self.site.store, self.config, drivers=self.site.settings.summary.drivers)

    # -- reading --------------------------------------------------------------------------------------

    def list_cases(self, request: Request) -> Response:
        self.site.readable(request)
        params = dict(request.query_params)
        try:
            data = views.case_list(self.repo, params)
        except BadParameter as exc:
            return self.site.error(request, 400, str(exc))
        return self.site.respond(request, "cases.html", data, params=params)

    def show(self, request: Request) -> Response:
        self.site.readable(request)
        return self._page(request, request.path_params["case_id"], {})

    def _page(self, request: Request, case_id: str, answers: dict[int, str], status: int = 200) -> Response:
        found = views.case_page(self.repo, case_id, auth.signed_in_reviewer(request), self.site.audio_root, answers)
        if found is None:
            return self.site.error(request, 404, f"no case {case_id} in the library")
        page, figure = found
        context = views.page_context(self.repo, page, figure, f"/cases/{case_id}/clip")
        return self.site.respond(request, "voice_case.html", page, status=status, **context)

    def clip(self, request: Request) -> Response:
        """The case's clip as WAV: from the redacted copy when redaction was on, never the original; when it
        was off, the original's clip for a signed-in reviewer only."""
        self.site.readable(request)
        case_id = request.path_params["case_id"]
        case = self.repo.case(case_id)
        if case is None:
            return self.site.error(request, 404, f"no case {case_id} in the library")
        stored = self.repo.analysis(case)
        if stored is None:
            return self.site.error(request, 404, "no clip: the analysis this case was drafted from is gone")
        analysis = views.with_audio_root(stored, self.site.audio_root)
        reviewer = auth.signed_in_reviewer(request)
        clip = self.clips.clip(self.repo, case, analysis, views.may_play_original(analysis, reviewer))
        if clip is None:
            return self.site.error(request, 404, views.clip_privacy(analysis, None, reviewer).audio)
        return _wav_response(request, clip.wav)

    def stylesheet(self, request: Request) -> Response:
        return Response(case_css(), media_type="text/css", headers={"cache-control": "public, max-age=3600"})

    # -- answers (nothing stored) ---------------------------------------------------------------------

    async def answers(self, request: Request) -> Response:
        self.site.readable(request)
        case_id = request.path_params["case_id"]
        case = await run_in_threadpool(self.repo.case, case_id)
        if case is None:
            return self.site.error(request, 404, f"no case {case_id} in the library")
        form = dict(await request.form())
        try:
            answers = views.submitted_answers(form, len(case.annotation.questions))
        except BadParameter as exc:
            return self.site.error(request, 400, str(exc))
        return await run_in_threadpool(self._page, request, case_id, answers)

    # -- the trainer's actions ------------------------------------------------------------------------

    async def _act(self, request: Request, action: Any) -> Response:
        """Run ``action(case, trainer, form)`` for a signed-in trainer; answer 303 (form) or the case (API)."""
        trainer = self.site.writer(request)
        case_id = request.path_params["case_id"]
        case = await run_in_threadpool(self.repo.case, case_id)
        if case is None:
            return self.site.error(request, 404, f"no case {case_id} in the library")
        form = dict(await request.form())
        return await self._write(request, lambda: action(case, trainer, form), f"/cases/{case_id}")

    async def _write(self, request: Request, work: Any, back: str) -> Response:
        """Run ``work()`` (a record back); a bad value is 400, a step the library refuses 409; then the
        record (API) or a 303 to ``back`` (form)."""
        try:
            changed = await run_in_threadpool(work)
        except BadParameter as exc:
            return self.site.error(request, 400, str(exc))
        except CaseError as exc:
            return self.site.error(request, 409, str(exc))
        if _is_api(request):
            return JSONResponse(changed.model_dump(mode="json"))
        return RedirectResponse(back, status_code=303)

    def _accept(self, case: VoiceCase, trainer: str, form: dict[str, Any]) -> VoiceCase:
        return self.repo.accept(case.case_id, trainer, views.parse_level(str(form.get("level", ""))))

    def _reject(self, case: VoiceCase, trainer: str, form: dict[str, Any]) -> VoiceCase:
        return self.repo.reject(case.case_id, trainer, views.required(form, "reason"))

    def _regrade(self, case: VoiceCase, trainer: str, form: dict[str, Any]) -> VoiceCase:
        level = views.parse_level(str(form.get("level", "")))
        if level is None:
            raise BadParameter("level: choose the case's new level, 1 to 5")
        return self.repo.regrade(case.case_id, trainer, level, views.optional(form, "note"))

    def _retire(self, case: VoiceCase, trainer: str, form: dict[str, Any]) -> VoiceCase:
        return self.repo.retire(case.case_id, trainer, views.required(form, "reason"))

    def _edit(self, case: VoiceCase, trainer: str, form: dict[str, Any]) -> VoiceCase:
        annotation = views.edited_annotation(case.annotation, form)
        return self.repo.edit(case.case_id, trainer, annotation, views.optional(form, "edit_note"))

    def edit_form(self, request: Request) -> Response:
        """The trainer's edit page: every editable field, reference answers included (trainers only)."""
        if not auth.signed_in_reviewer(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        case_id = request.path_params["case_id"]
        case = self.repo.case(case_id)
        if case is None:
            return self.site.error(request, 404, f"no case {case_id} in the library")
        return self.site.respond(request, "voice_case_edit.html", case)

    # -- agents ---------------------------------------------------------------------------------------

    def list_agents(self, request: Request) -> Response:
        self.site.readable(request)
        return self.site.respond(request, "agents.html", {"agents": self.repo.agents(),
                                                          "max_level": self.repo.rules.agents.max_level})

    def show_agent(self, request: Request) -> Response:
        self.site.readable(request)
        agent_id = request.path_params["agent_id"]
        page = views.agent_page(self.repo, agent_id, auth.signed_in_reviewer(request))
        if page is None:
            return self.site.error(request, 404, f"no agent {agent_id} in the store")
        return self.site.respond(request, "agent.html", page)

    async def assess(self, request: Request) -> Response:
        """A trainer's pass / fail for every question of the agent's next level; at the threshold, up a level."""
        trainer = self.site.writer(request)
        agent_id = request.path_params["agent_id"]
        page = await run_in_threadpool(views.agent_page, self.repo, agent_id, trainer)
        if page is None:
            return self.site.error(request, 404, f"no agent {agent_id} in the store")
        form = dict(await request.form())

        def record() -> Any:
            results = views.assessment_results(form, page.questions)
            return self.repo.record_assessment(agent_id, trainer, results)

        return await self._write(request, record, f"/agents/{quote(agent_id)}")

    def routes(self) -> list[Route]:
        actions = {"accept": self._accept, "reject": self._reject, "regrade": self._regrade,
                   "retire": self._retire, "edit": self._edit}
        routes = [
            Route("/cases", self.list_cases, methods=["GET"]),
            Route("/api/cases", self.list_cases, methods=["GET"]),
            Route("/cases/{case_id}", self.show, methods=["GET"]),
            Route("/api/cases/{case_id}", self.show, methods=["GET"]),
            Route("/cases/{case_id}/clip", self.clip, methods=["GET", "HEAD"]),
            Route("/cases/{case_id}/edit", self.edit_form, methods=["GET"]),
            Route("/cases/{case_id}/answers", self.answers, methods=["POST"]),
            Route("/api/cases/{case_id}/answers", self.answers, methods=["POST"]),
            Route("/static/case.css", self.stylesheet, methods=["GET"]),
            Route("/agents", self.list_agents, methods=["GET"]),
            Route("/api/agents", self.list_agents, methods=["GET"]),
            Route("/agents/{agent_id}", self.show_agent, methods=["GET"]),
            Route("/api/agents/{agent_id}", self.show_agent, methods=["GET"]),
            Route("/agents/{agent_id}/assess", self.assess, methods=["POST"]),
            Route("/api/agents/{agent_id}/assess", self.assess, methods=["POST"]),
        ]
        for name, action in actions.items():
            async def endpoint(request: Request, action: Any = action) -> Response:
                return await self._act(request, action)

            routes += [Route(f"/cases/{{case_id}}/{name}", endpoint, methods=["POST"]),
                       Route(f"/api/cases/{{case_id}}/{name}", endpoint, methods=["POST"])]
        return routes
