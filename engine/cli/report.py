"""``callqa report``: one call's report as a single self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from engine.cli.common import ConfigOption, stderr
from engine.cli.sample import open_store, sections
from engine.record import CallAnalysis
from engine.store import EventKindsConfig, StoreConfig


def _fail(message: str) -> typer.Exit:
    stderr.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        call: str = typer.Argument(..., help="a call id (or call key) in the store, or an analysis JSON file"),
        out: Path = typer.Option(..., "--out", "-o", help="the HTML file to write"),
        db: str = typer.Option(None, "--db", help="database URL (default: store.url); not used for a JSON file"),
        audio: str = typer.Option("embed", "--audio", help="embed the recording | link to it | none"),
        audio_root: Path = typer.Option(None, "--audio-root", help="folder relative recording paths are under"),
        config: Path = ConfigOption,
    ) -> None:
        """Write one call's report (scorecard with evidence, transcript, emotions, dynamics, audio) to a file."""
        from engine.store.queries import find_call
        from engine.store.reviewing import latest_reviews
        from engine.web import WebConfig, write_report

        if audio not in ("embed", "link", "none"):
            raise typer.BadParameter("use embed, link or none", param_hint="--audio")
        cfg = sections(config, {"store": StoreConfig, "event_kinds": EventKindsConfig, "web": WebConfig})
        options = {"kinds": cfg["event_kinds"], "web": cfg["web"], "audio": audio, "audio_root": audio_root}
        source = Path(call)
        if source.suffix.lower() == ".json" and source.is_file():
            try:
                analysis = CallAnalysis.from_json(source.read_text(encoding="utf-8"))
            except (ValidationError, ValueError) as exc:
                first = str(exc).splitlines()[0]
                raise _fail(f"{source}: not a callqa analysis ({first}); give the JSON `callqa analyze` "
                            "wrote, or a call id in the store") from None
        else:
            store_cfg = cfg["store"]
            assert isinstance(store_cfg, StoreConfig)
            if db:
                store_cfg = store_cfg.model_copy(update={"url": db})
            with open_store(store_cfg) as store:
                stored = find_call(store, call)
                found = store.analysis(stored.call_key) if stored else None
                if stored is None or found is None:
                    raise _fail(f"{call}: no analysed call with this id in {store_cfg.url} (and no such JSON file)")
                analysis = found
                options.update(call=stored, reviews=[{**r, "created_at": str(r["created_at"])[:16]}
                                                     for r in latest_reviews(store, stored.call_key).values()])
        size = write_report(analysis, out, **options)
        typer.echo(f"wrote {out} ({size / 1e6:.1f} MB)")
