"""REF parsing, names, stages and semantic versions (the next bump: `nbmodels.bumps`)."""

from __future__ import annotations

import difflib
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from itertools import groupby

from .bumps import infer_bump  # noqa: F401  (re-exported: the bump's inference lives there)
from .errors import InvalidInputError
from .records import STAGES

# Every pattern is used with `fullmatch`: `$` also matches before a trailing newline, which
# let "m\n" in as a name no REF could reach. A name starts with a letter or digit of any
# script (`[^\W_]`), then letters, digits, `_`, `-`, `.`; versions are ASCII digits only.
MODEL_NAME_RE = re.compile(r"[^\W_][\w.\-]{0,127}")
SEMVER_RE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
# ULID: Crockford base32 (no I, L, O, U); a prefix of at least 6 characters names a run.
RUN_PREFIX_RE = re.compile(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{6,26}")
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
    if not isinstance(text, str):
        raise InvalidInputError(f"bad REF {text!r}: give it as text")
    text = text.strip(" ")  # spaces only: a newline or other control character is an error
    if "@" in text:
        name, selector = text.split("@", 1)
        name = check_model_name(name)
        if not (SEMVER_RE.fullmatch(selector) or selector in STAGE_SELECTORS
                or selector == "latest"):
            raise InvalidInputError(
                f"bad REF {text!r}: after '@' put a version like 1.2.0, latest, or a stage "
                f"({', '.join(STAGE_SELECTORS)})")
        return Ref(text, name=name, selector=selector)
    run_prefix = text.upper() if RUN_PREFIX_RE.fullmatch(text) else None
    name = unicodedata.normalize("NFC", text)
    name = name if MODEL_NAME_RE.fullmatch(name) else None
    if run_prefix is None and name is None:
        raise InvalidInputError(
            f"bad REF {text!r}: use a run id (6+ characters), NAME, NAME@1.2.0 or NAME@production")
    return Ref(text, name=name, run_prefix=run_prefix)


def check_model_name(name: str) -> str:
    """`name` in Unicode's composed form (NFC: "é" typed as e + accent names the same
    model), if it is a valid model name; raises `InvalidInputError` if not."""
    normal = unicodedata.normalize("NFC", name) if isinstance(name, str) else ""
    if not MODEL_NAME_RE.fullmatch(normal):
        raise InvalidInputError(
            f"bad model name {name!r}: start with a letter or digit, then letters, digits, "
            "'_', '-', '.', at most 128 characters")
    return normal


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        hint = did_you_mean(stage, STAGES)
        raise InvalidInputError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}{hint}")
    return stage


def check_text(value, what: str):
    """`value` (a note, a tag, an experiment name) if it is text SQLite can store: None or a
    str without lone surrogates (what undecodable bytes in a terminal's arguments become).
    Raises `InvalidInputError` naming `what`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} {value[:40]!r} is not valid text (a lone surrogate at position "
            f"{exc.start}, e.g. from bytes that are not UTF-8): give it as UTF-8") from None
    return value


def check_tags(tags: dict | None) -> dict:
    """`tags` as a dict whose keys and text values pass `check_text`."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInputError(f"tags must be a dict of KEY: VALUE, not {type(tags).__name__}")
    for key, value in tags.items():
        check_text(key, "tag name")
        if isinstance(value, str):
            check_text(value, f"tag {key!r}")
    return tags


def parse_version(text: str) -> tuple[int, int, int]:
    found = SEMVER_RE.fullmatch(text) if isinstance(text, str) else None
    if not found:
        raise InvalidInputError(f"bad version {text!r}: use MAJOR.MINOR.PATCH, e.g. 1.2.0")
    parts = int(found[1]), int(found[2]), int(found[3])
    if max(parts) >= 2**63:  # SQLite's largest integer
        raise InvalidInputError(f"bad version {text!r}: each number must be below 2**63")
    return parts


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


_last_uid_ns = 0


def stage_change_uid() -> str:
    """A new stage change's uid (32 hex characters): its first 16 count nanoseconds and
    rise with every uid this process makes, so changes made in one millisecond (promote
    one version, archive the other) keep the order they were made in `replay_order`; the
    other 16 are random, so two machines never make the same one."""
    global _last_uid_ns
    _last_uid_ns = max(time.time_ns(), _last_uid_ns + 1)
    return f"{_last_uid_ns:016x}{secrets.token_hex(8)}"


def _order(transition: dict) -> tuple:
    return (transition["at"], transition.get("uid") or "")


def replay_order(changes: list[dict]) -> list[dict]:
    """Stage changes (dicts with version, from_stage, to_stage, at, uid) in the one order
    every machine shows and replays them in: by time, then by uid; among changes made in
    the same millisecond, one that continues its version's chain (`from_stage` is the stage
    it is in) first, so `none -> staging -> production` made at once replays as it was
    made."""
    ordered: list[dict] = []
    stage: dict[str, str] = {}
    for _at, group in groupby(sorted(changes, key=_order), key=lambda c: c["at"]):
        pending = list(group)
        while pending:
            pick = next((c for c in pending
                         if c["from_stage"] == stage.get(c["version"], "none")), pending[0])
            pending.remove(pick)
            ordered.append(pick)
            stage[pick["version"]] = pick["to_stage"]
    return ordered
