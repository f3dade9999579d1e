"""``callqa serve`` on a store of 10,000 calls: how fast the dashboard, search and a 14-minute report answer.

    .venv/bin/python -m bench.bench_web [--calls 10000] [--days 20] [--repeat 5]

The calls are made from real analyses (``callqa analyze`` on the bundled samples and the shared real
calls, run once and cached under ~/.cache/callqa/web/analyses) by ``tests.webdata.varied_calls``: other
agents (40), teams, days, scores, verdicts and failed items; the alerts they raise are stored with them.
A 14-minute call is one real call repeated in time (``tests.webdata.lengthen``). The store is built
once and cached (~/.cache/callqa/web/bench-<calls>.db).

The app runs under uvicorn on 127.0.0.1 and is asked over HTTP (httpx, gzip accepted, as a browser
would): each figure is the median of ``--repeat`` requests after one warm-up, plus the first (cold) one.
The dashboard's call drivers (k-means over the day's openings) are timed apart: the page does not wait
for them (it fetches them after loading when they are not cached yet). Page weight is the bytes on the
wire (gzip), for the HTML and for the static files a first visit loads (plotly.js included).
Timings are wall-clock on a shared 2-core machine: noisy; rerun on a quiet machine to compare.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import PROJECT_ROOT, SHARED_DATA

CACHE = Path.home() / ".cache" / "callqa" / "web"
ANALYSES = CACHE / "analyses"
FIRST_DAY = date(2026, 10, 1)
SOURCES = [*sorted((PROJECT_ROOT / "samples").glob("*.*")), SHARED_DATA / "calls" / "real" / "lca_49_stereo.wav",
           SHARED_DATA / "asr" / "zh" / "aishell_0121.wav"]


def real_analyses() -> list:
    """The cached ``callqa analyze`` output (run now when missing: a few minutes on a CPU)."""
    from engine.record import CallAnalysis

    wanted = [s for s in SOURCES if s.is_file()]
    if not all((ANALYSES / f"{s.stem}.json").is_file() for s in wanted):
        ANALYSES.mkdir(parents=True, exist_ok=True)
        print(f"analysing {len(wanted)} real calls once (cached in {ANALYSES}) …", flush=True)
        subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "callqa"), "analyze", *map(str, wanted),
                        "--out", str(ANALYSES)], check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    return [CallAnalysis.from_json((ANALYSES / f"{s.stem}.json").read_text()) for s in wanted]


def build_store(calls: int, days: int) -> tuple[Path, str]:
    """The cached store of ``calls`` generated calls plus one 14-minute call; returns it and that call's id."""
    from engine.alerts import AlertsConfig
    from engine.alerts.triggers import alerts_for
    from engine.store import Store
    from tests.webdata import lengthen, varied_calls

    path = CACHE / f"bench-{calls}-{days}.db"
    bases = real_analyses()
    long_call = lengthen(max(bases, key=lambda a: len(a.turns) / a.call.duration), 14 * 60,
                         call_start=f"{FIRST_DAY.isoformat()}T10:00:00")
    if path.exists():
        return path, long_call.call.call_id
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    alerts = AlertsConfig(sinks=[])
    started = time.perf_counter()
    with Store.open(f"sqlite:///{partial}") as store:
        for n, analysis in enumerate(varied_calls(bases, calls, FIRST_DAY, days, seed=1), start=1):
            store.save_analysis(analysis, alerts_for(analysis, alerts, store.config))
            if n % 1000 == 0:
                print(f"  {n} calls stored ({time.perf_counter() - started:.0f} s)", flush=True)
        store.save_analysis(long_call)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    return path, long_call.call.call_id


def serve(url: str) -> tuple[str, object]:
    import uvicorn

    from engine.store import Store
    from engine.web import create_app

    store = Store.open(url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(store, audio_root=PROJECT_ROOT), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def timed(client, path: str, repeat: int) -> dict[str, float]:
    """First (cold) request, then the median of ``repeat`` more; the status must be 200."""
    times, size = [], 0
    for _ in range(repeat + 1):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            sys.exit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
        size = response.num_bytes_downloaded
    return {"cold_s": times[0], "median_s": statistics.median(times[1:]), "wire_kb": size / 1024,
            "html_kb": len(response.content) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import httpx

    path, long_id = build_store(args.calls, args.days)
    base, server = serve(f"sqlite:///{path}")
    busiest = (FIRST_DAY + timedelta(days=args.days - 1)).isoformat()
    rows: list[tuple[str, dict[str, float]]] = []
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}, timeout=120) as client:
        total = client.get("/api/calls").json()["total"]
        print(f"store: {path} ({total} done calls over {args.days} days); server {base}")
        pages = {
            "dashboard (latest day)": f"/?date={busiest}",
            "dashboard JSON, drivers included": f"/api/summary?date={busiest}",
            "search: all calls, page 1": "/calls",
            "search: all calls, page 100": "/calls?page=100",
            "search: agent + verdict + score range": "/calls?agent=agent07&verdict=fail&min_score=20&max_score=70",
            "search: escalations in a week": f"/calls?event=escalation&from={FIRST_DAY}&to={FIRST_DAY + timedelta(6)}",
            "search: words 'wrong color'": "/calls?q=wrong+color",
            "search: Chinese words 地产": "/calls?q=%E5%9C%B0%E4%BA%A7",
            "call report, 14-minute call": f"/calls/{long_id}",
            "call report JSON, 14-minute call": f"/api/calls/{long_id}",
        }
        other_day = (FIRST_DAY + timedelta(days=args.days - 2)).isoformat()
        start = time.perf_counter()
        client.get(f"/drivers?date={other_day}")
        drivers_cold = time.perf_counter() - start
        for label, page in pages.items():
            rows.append((label, timed(client, page, args.repeat)))
        assets = sum(client.get(a).num_bytes_downloaded for a in ("/static/app.css", "/static/app.js",
                                                                   "/static/plotly.min.js"))
    server.should_exit = True  # type: ignore[attr-defined]
    print(f"\n{'page':42} {'cold s':>8} {'median s':>9} {'wire KB':>8} {'HTML KB':>8}")
    for label, r in rows:
        print(f"{label:42} {r['cold_s']:8.3f} {r['median_s']:9.3f} {r['wire_kb']:8.0f} {r['html_kb']:8.0f}")
    print(f"\ncall drivers of a day, grouped on first request (then cached): {drivers_cold:.2f} s")
    print(f"static files of a first visit (css, js, plotly.js), gzip: {assets / 1024:.0f} KB, cached after")


if __name__ == "__main__":
    main()
