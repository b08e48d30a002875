"""REF parsing, names, stages, semantic versions and the inference of the next bump."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .errors import InvalidInputError
from .records import STAGES

MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# ULID: Crockford base32 (no I, L, O, U); a prefix of at least 6 characters names a run.
RUN_PREFIX_RE = re.compile(r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{6,26}$")
BUMPS = ("major", "minor", "patch")
STAGE_SELECTORS = ("staging", "production", "archived")


@dataclass(frozen=True)
class Ref:
    """A parsed REF. `run_prefix` is set when the text can name a run; `name` when it can
    name a model (both for a bare word such as `01jd3fab`, tried as a run first)."""

    text: str
    name: str | None = None
    selector: str = "latest"  # a version "1.2.0", a stage, or "latest"
    run_prefix: str | None = None


def parse_ref(text: str) -> Ref:
    """Parse `RUN_ID`, `NAME`, `NAME@1.2.0`, `NAME@production` or `NAME@latest`.

    Raises `InvalidInputError` for anything else.
    """
    text = (text or "").strip()
    if "@" in text:
        name, selector = text.split("@", 1)
        check_model_name(name)
        if not (SEMVER_RE.match(selector) or selector in STAGE_SELECTORS or selector == "latest"):
            raise InvalidInputError(
                f"bad REF {text!r}: after '@' put a version like 1.2.0, latest, or a stage "
                f"({', '.join(STAGE_SELECTORS)})")
        return Ref(text, name=name, selector=selector)
    run_prefix = text.upper() if RUN_PREFIX_RE.match(text) else None
    name = text if MODEL_NAME_RE.match(text) else None
    if run_prefix is None and name is None:
        raise InvalidInputError(
            f"bad REF {text!r}: use a run id (6+ characters), NAME, NAME@1.2.0 or NAME@production")
    return Ref(text, name=name, run_prefix=run_prefix)


def check_model_name(name: str) -> str:
    if not MODEL_NAME_RE.match(name or ""):
        raise InvalidInputError(
            f"bad model name {name!r}: start with a letter or digit, then letters, digits, "
            "'_', '-', '.', at most 128 characters")
    return name


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        hint = did_you_mean(stage, STAGES)
        raise InvalidInputError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}{hint}")
    return stage


def parse_version(text: str) -> tuple[int, int, int]:
    found = SEMVER_RE.match(text or "")
    if not found:
        raise InvalidInputError(f"bad version {text!r}: use MAJOR.MINOR.PATCH, e.g. 1.2.0")
    return int(found[1]), int(found[2]), int(found[3])


def bumped(version: str, bump: str) -> str:
    """The version after `version` for a `major`, `minor` or `patch` bump."""
    major, minor, patch = parse_version(version)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise InvalidInputError(f"bad bump {bump!r}: use major, minor or patch")


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word or "", list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def infer_bump(previous: dict, current: dict) -> tuple[str, str]:
    """Decide `major`/`minor`/`patch` from what changed between two versions' facts.

    Facts are dicts with `model_type`, `signature` (the model's own input signature, or
    None), `input_schema` (schema of the run's data inputs), `params`, `metrics`, `data`
    (data fingerprints by name), `source` and `packages`. Returns the bump and a one-line
    reason naming what changed.
    """
    major = _major_reason(previous, current)
    if major:
        return "major", major
    minor = _changes(previous, current, {"params": "hyperparameters", "data": "training data",
                                         "metrics": "metrics"})
    if minor:
        return "minor", minor
    patch = _changes(previous, current, {"source": "cell code", "packages": "environment"})
    return "patch", patch or "model bytes changed; params, data, metrics and code are the same"


def _major_reason(previous: dict, current: dict) -> str | None:
    if previous.get("model_type") and previous["model_type"] != current.get("model_type"):
        return f"model class changed: {previous.get('model_type')} → {current.get('model_type')}"
    old_sig, new_sig = previous.get("signature"), current.get("signature")
    if old_sig and new_sig:
        return _signature_change(old_sig, new_sig, "input signature")
    old_schema, new_schema = previous.get("input_schema"), current.get("input_schema")
    if old_schema and new_schema and old_schema != new_schema:
        return "input data schema changed: " + _dict_change(old_schema, new_schema)
    return None


def _signature_change(old: dict, new: dict, label: str) -> str | None:
    old_features, new_features = old.get("features"), new.get("features")
    if old_features is not None and new_features is not None and old_features != new_features:
        removed = [f for f in old_features if f not in new_features]
        added = [f for f in new_features if f not in old_features]
        parts = ([f"removed {_names(removed)}"] if removed else []) + (
            [f"added {_names(added)}"] if added else [])
        return f"{label} changed: " + ("; ".join(parts) or "features reordered")
    if old.get("n_features") != new.get("n_features"):
        return f"{label} changed: {old.get('n_features')} → {new.get('n_features')} inputs"
    if old.get("target") != new.get("target"):
        return f"{label} changed: target {old.get('target')!r} → {new.get('target')!r}"
    return None


def _changes(previous: dict, current: dict, labels: dict[str, str]) -> str | None:
    parts = []
    for key, label in labels.items():
        old, new = previous.get(key) or {}, current.get(key) or {}
        if old != new:
            parts.append(f"{label} changed: " + _dict_change(old, new))
    return "; ".join(parts) or None


def _dict_change(old, new, limit: int = 3) -> str:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return "edited"
    changed = [k for k in sorted(set(old) | set(new), key=str) if old.get(k) != new.get(k)]
    shown = [f"{k} {_short(old.get(k))} → {_short(new.get(k))}" for k in changed[:limit]]
    more = f" (+{len(changed) - limit} more)" if len(changed) > limit else ""
    return ", ".join(shown) + more


def _short(value) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:10] + "…"


def _names(names: list, limit: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")
