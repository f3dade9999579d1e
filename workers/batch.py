"""Daily batches on Ray: many recordings through model-holding actors, stored as they finish.

Ray starts inside the process by default (no setup), never an existing or stale cluster recorded on the
machine, and joins a cluster only when given its ``address`` (see ``workers.cluster``). Each actor
loads the models once and analyses one recording at a time; Ray's ``ActorPool`` hands a recording to
an actor as soon as it is free, so work streams through with back-pressure and results come back in
the order they finish. Each result is stored in one transaction the moment it arrives, and its
alerts go out then, not at the end of the day.

A batch is resumable: recordings already stored as done under the same configuration are skipped,
and a SIGKILL at any moment loses only the calls in flight, which the next run analyses (the store's
unique keys make a duplicate write impossible). A recording that cannot be analysed is stored as
failed with its reason, and the batch goes on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import ray
from ray.util import ActorPool

from engine.alerts import deliver_pending, store_analysis
from engine.audio.decode import file_hash
from engine.config import AppConfig
from engine.errors import CallQAError, MissingFile
from engine.record import CallAnalysis
from engine.store import Store, call_key
from workers.cluster import start_ray
from workers.config import BatchConfig
from workers.intake import BatchItem

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What an actor sends back for one recording."""

    item: BatchItem
    content_hash: str
    analysis_json: str | None = None
    reason: str = ""
    message: str = ""
    model_seconds: float = 0.0
    duration: float = 0.0
    node: str = ""  # the Ray node that analysed it (hex id): on a cluster, where the work went


@dataclass
class BatchReport:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0
    model_seconds: float = 0.0
    wall_seconds: float = 0.0
    startup_seconds: float = 0.0
    alerts_delivered: int = 0
    alerts_pending: int = 0
    interrupted: bool = False
    cases_promoted: list[str] = field(default_factory=list)  # new voice-case candidates (engine/cases)
    calls_per_node: Counter[str] = field(default_factory=Counter)

    @property
    def real_time_factor(self) -> float:
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0


class CallAnalyzer:
    """A Ray actor holding one engine (its models load once, on the first call)."""

    def __init__(self, config_json: str) -> None:
        from engine.pipeline import Engine

        self.engine = Engine(AppConfig.model_validate_json(config_json))
        self.node = ray.get_runtime_context().get_node_id()

    def ready(self) -> bool:
        """Answers once the actor's process has started and imported the engine."""
        return True

    def analyze(self, item: BatchItem, content_hash: str) -> Outcome:
        started = time.perf_counter()
        try:
            analysis = self.engine.analyze(item.path, call_id=item.call_id, metadata=item.metadata)
        except CallQAError as exc:
            return Outcome(item, content_hash, reason=exc.reason, message=str(exc), node=self.node)
        except Exception as exc:  # a model crash on one recording must not stop the day's batch
            log.exception("analysis of %s failed", item.path)
            return Outcome(item, content_hash, reason="internal_error",
                           message=f"{item.path}: analysis failed ({type(exc).__name__}: {exc}); report this recording",
                           node=self.node)
        return Outcome(item, content_hash, analysis_json=analysis.to_json(),
                       model_seconds=time.perf_counter() - started, duration=analysis.call.duration, node=self.node)


def _hash_or_none(item: BatchItem) -> str | None:
    try:
        return file_hash(item.path)
    except OSError:
        return None


def _resources(batch: BatchConfig) -> tuple[int, float]:
    cluster = ray.cluster_resources()
    gpus = cluster.get("GPU", 0.0)
    per_gpu = batch.gpus_per_worker if batch.gpus_per_worker >= 0 else (1.0 if gpus else 0.0)
    if batch.workers:
        return batch.workers, per_gpu
    if per_gpu:
        return max(1, int(gpus / per_gpu)), per_gpu
    return max(1, int(cluster.get("CPU", 1) / batch.cpus_per_worker)), 0.0


ProgressHook = Callable[[BatchReport, Outcome | None], None]


def run_batch(items: list[BatchItem], config: AppConfig, store: Store, batch: BatchConfig | None = None,
              progress: ProgressHook | None = None) -> BatchReport:
    """Analyse every item not already stored as done; store each result as it arrives."""
    batch = batch or BatchConfig()
    config_hash = config.hash()
    report = BatchReport(total=len(items))
    started = time.perf_counter()
    # Alerts that could not be delivered last time (a webhook down) are retried before new work.
    deliver_pending(store, config.alerts)
    done = store.done_hashes(config_hash)
    failed_before = set() if batch.retry_failed else store.failed_hashes(config_hash)
    todo: list[tuple[BatchItem, str]] = []
    recordings: list[str] = []  # the batch's content hashes, for case promotion at the end
    for item in items:
        digest = _hash_or_none(item)
        if digest is not None:
            recordings.append(digest)
        if digest is None:
            error = MissingFile(item.path, "file not found or unreadable", "Check the path in the batch source")
            # A missing file has no content; its path stands in for the hash so a rerun does not repeat it.
            store.save_error(error, f"path:{item.path}", config_hash, metadata=item.metadata, call_id=item.call_id)
            report.failed.append((item.call_id, error.reason, str(error)))
        elif digest in done or digest in failed_before:
            report.skipped += 1
        else:
            todo.append((item, digest))
            done.add(digest)  # the same recording twice in one batch is analysed once
    if progress:
        progress(report, None)
    if not todo:
        _promote_cases(store, recordings, config, config_hash, report)
        report.wall_seconds = time.perf_counter() - started
        return report

    start_ray(batch.address, batch.connect_timeout_s)
    workers, gpus = _resources(batch)
    actor = ray.remote(CallAnalyzer).options(num_cpus=batch.cpus_per_worker, num_gpus=gpus)
    config_json = config.model_dump_json()
    actors = [actor.remote(config_json) for _ in range(min(workers, len(todo)))]
    # Starting the actors' processes (and their imports) is start-up, not per-call work: wait for it
    # apart, so throughput and the share of time outside the models describe the batch itself.
    ray.get([a.ready.remote() for a in actors])
    report.startup_seconds = time.perf_counter() - started
    pool = ActorPool(actors)
    try:
        for outcome in pool.map_unordered(lambda a, job: a.analyze.remote(*job), todo):
            _store(outcome, config, config_hash, store, report)
            report.wall_seconds = time.perf_counter() - started
            if progress:
                progress(report, outcome)
    except KeyboardInterrupt:
        # Stored calls stay stored; the calls in flight are analysed again by the next run.
        report.interrupted = True
    finally:
        report.wall_seconds = time.perf_counter() - started
    if not report.interrupted:
        _promote_cases(store, recordings, config, config_hash, report)
    return report


def _promote_cases(store: Store, recordings: list[str], config: AppConfig, config_hash: str,
                   report: BatchReport) -> None:
    """The voice-case library's candidates among the batch's stored calls (``cases.enabled``)."""
    if config.cases.enabled:
        from engine.cases import promote_after_batch

        report.cases_promoted = promote_after_batch(store, [call_key(h, config_hash) for h in recordings],
                                                    config.cases, config.summary.drivers)


def _store(outcome: Outcome, config: AppConfig, config_hash: str, store: Store, report: BatchReport) -> None:
    item = outcome.item
    report.calls_per_node[outcome.node] += 1
    if outcome.analysis_json is None:
        store.save_failure(str(item.path), outcome.content_hash, config_hash, outcome.reason, outcome.message,
                           metadata=item.metadata, call_id=item.call_id)
        report.failed.append((item.call_id, outcome.reason, outcome.message))
        return
    analysis = CallAnalysis.from_json(outcome.analysis_json)
    stored, delivery = store_analysis(store, analysis, config.alerts)
    if stored:
        report.done += 1
        report.audio_seconds += outcome.duration
        report.model_seconds += outcome.model_seconds
        report.alerts_delivered += len(delivery.delivered)
        report.alerts_pending += len(delivery.pending)
    else:
        report.skipped += 1


def shutdown() -> None:
    if ray.is_initialized():
        ray.shutdown()


__all__ = ["BatchReport", "CallAnalyzer", "Outcome", "run_batch", "shutdown"]
