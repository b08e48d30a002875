"""Helpers the registry's modules share: timestamps, the user, JSON values and the
feature importance recorded with a model."""

from __future__ import annotations

import getpass
from datetime import datetime, UTC
from typing import Any

from .. import capture

MAX_IMPORTANCE_FEATURES = 1000


def recorded_importance(model: Any) -> dict[str, float] | None:
    """The feature importance recorded with a model when it is captured or registered, so
    that comparing versions never has to load (unpickle) them: the largest
    `MAX_IMPORTANCE_FEATURES` by magnitude; None when the model exposes none."""
    from ..comparison import feature_importance

    try:
        return feature_importance(model, limit=MAX_IMPORTANCE_FEATURES)
    except Exception:  # noqa: BLE001  a model whose attributes raise: no importance
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_time(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")


def current_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def json_map(values: dict | None) -> dict:
    return {k: capture.json_value(v) for k, v in (values or {}).items()}
