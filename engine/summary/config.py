"""Configuration of the daily summary (``summary:``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DriversConfig(_Section):
    """Call drivers: what customers called about, from their opening words, grouped."""

    opening_turns: int = Field(2, ge=1, description="customer turns that make a call's opening")
    opening_seconds: float = Field(90.0, gt=0, description="only customer turns starting before this")
    max_groups: int = Field(8, ge=1)
    top_terms: int = Field(3, ge=1, description="terms that label a group")
    examples: int = Field(1, ge=0, description="opening texts quoted per group (the most typical first)")
    seed: int = 0
    stop_words: list[str] = Field(
        default_factory=lambda: [
            "hi", "hello", "hey", "yes", "yeah", "ok", "okay", "um", "uh", "thanks", "thank", "calling", "call",
            "called", "just", "like", "want", "wanted", "need", "help", "please", "good", "morning", "afternoon",
            "evening", "name", "speaking", "sir", "madam", "im", "i'm", "it's", "don't",
            "你好", "您好", "请问", "谢谢", "一下", "我想", "我的", "就是", "那个", "这个", "我要", "喂喂",
        ],
        description="words that say nothing about why a customer called (added to the English stop words)",
    )


class SummaryConfig(_Section):
    top_defects: int = Field(5, ge=1, description="defects listed per agent and team")
    drivers: DriversConfig = DriversConfig()
