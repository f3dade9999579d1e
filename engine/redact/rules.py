"""Load the entity rule files (``redact.rules``) into typed rules, with errors that name the file and key."""

from __future__ import annotations

from pathlib import Path

from engine.config import PROJECT_ROOT, ConfigError, load_yaml_model
from engine.redact.config import EntityRule, EntityRules, RedactConfig


def _resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() or candidate.exists() else PROJECT_ROOT / candidate


def load_rules(config: RedactConfig) -> dict[str, EntityRule]:
    """Every rule file in order (a later one adds types or replaces one of the same name), then the on/off switches."""
    rules: dict[str, EntityRule] = {}
    for path in config.rules:
        loaded = load_yaml_model(_resolve(path), EntityRules, "redaction rules file",
                                 "a mapping with an 'entities' key")
        rules.update(loaded.entities)
    unknown = sorted(set(config.entities) - set(rules))
    if unknown:
        raise ConfigError(f"redact.entities: unknown entity type(s) {', '.join(unknown)}; "
                          f"the rule files define {', '.join(rules)}")
    return {name: rule.model_copy(update={"enabled": config.entities.get(name, rule.enabled)})
            for name, rule in rules.items()}
