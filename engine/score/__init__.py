"""Scoring: a QA standard's items with evidence, service defects and recoveries, and a verdict.

    from engine.score import load_standard, score_call, summary_lines

    standard = load_standard("qa_checklist")       # configs/standards/qa_checklist.yaml, or a path
    score_call(analysis, standard)                  # fills analysis.scorecard, adds defect./recovery. events
    print("\\n".join(summary_lines(analysis)))

A pure stage over ``CallAnalysis``: it reads turns (role, text, times, emotion), the diarization
stage's events and dynamics when present, and the transcript's language.
"""

from engine.score.defects import find_defects
from engine.score.phrases import PhraseBook, PhraseHit, PhraseMatcher, load_phrasebook, normalise
from engine.score.review import (
    AgreementReport,
    ReviewOverride,
    ScoredCall,
    agreement_report,
    load_overrides,
    save_overrides,
)
from engine.score.scorecard import item_assessed, score_call, summary_lines
from engine.score.standard import DetectionSettings, Standard, available_standards, load_standard

__all__ = [
    "AgreementReport",
    "DetectionSettings",
    "PhraseBook",
    "PhraseHit",
    "PhraseMatcher",
    "ReviewOverride",
    "ScoredCall",
    "Standard",
    "agreement_report",
    "available_standards",
    "find_defects",
    "item_assessed",
    "load_overrides",
    "load_phrasebook",
    "load_standard",
    "normalise",
    "save_overrides",
    "score_call",
    "summary_lines",
]
