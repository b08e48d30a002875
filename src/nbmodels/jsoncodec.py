"""JSON as the registry stores it, and as the CLI and REST print it.

Python writes non-finite floats as the bare tokens `NaN`, `Infinity` and `-Infinity`, which
are not JSON: SQLite's JSON functions reject the whole text ("malformed JSON"), so one
`error_score=nan` would break every listing that filters or sorts. Stored JSON therefore
spells infinities as the numbers `1e999` / `-1e999` (valid JSON that SQLite and Python both
read back as ±inf, so they sort as numbers) and NaN, which no JSON number can spell, as the
object `{"$float": "NaN"}`, decoded back to NaN on read (a dict param equal to exactly
that object reads as NaN too: the one reserved value).

Output for people's programs (`--json`, the REST API) is strict JSON instead: NaN and
infinities become `null` (`strict`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

NAN_TAG = {"$float": "NaN"}
# how SQLite's json_extract returns the tag (minified), to compare against in SQL
NAN_SQL = '{"$float":"NaN"}'
_SPELLED = {"NaN": '{"$float": "NaN"}', "Infinity": "1e999", "-Infinity": "-1e999"}
# a whole JSON string (skipped as it is), or a non-finite token outside any string
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


# one encoder for every call: `json.dumps(value, default=str)` builds a new one each time
_ENCODER = json.JSONEncoder(default=str)
_EMPTY = {dict: "{}", list: "[]"}


def encode_json(value: Any) -> str:
    """`value` as JSON text SQLite's JSON functions accept, non-finite floats included."""
    if not value and type(value) in _EMPTY:  # a run's tags, metrics, flags: most often none
        return _EMPTY[type(value)]
    text = _ENCODER.encode(value)
    if "NaN" in text or "Infinity" in text:  # else no token to rewrite (the common case)
        text = _TOKENS.sub(_spell, text)
    return text


def _spell(match: re.Match) -> str:
    return match[0] if match[1] is None else _SPELLED[match[1]]


def decode_json(text: str) -> Any:
    """Stored JSON text back to values: the NaN tag as NaN, `1e999` as inf. Also reads the
    bare `NaN`/`Infinity` tokens older registries hold."""
    if '"$float"' in text:
        return json.loads(text, object_hook=_nan_hook)
    return json.loads(text)


def _nan_hook(obj: dict) -> Any:
    return math.nan if len(obj) == 1 and obj.get("$float") == "NaN" else obj


def strict(value: Any) -> Any:
    """`value` for strict JSON output: NaN and infinities as None (numpy scalars first made
    Python numbers), tuples as lists, dict keys as str; other values unchanged."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", None) == 0:  # a numpy scalar
        return strict(item())
    return value


def dumps_strict(value: Any, **options) -> str:
    """`value` as strict JSON text (`allow_nan=False`: a non-finite float that got past
    `strict` is an error, never a bare `NaN` in the output)."""
    return json.dumps(strict(value), allow_nan=False, default=str, **options)


def rewrite_bare_tokens(db, tables: dict[str, tuple[str, ...]]) -> int:
    """Re-encode every JSON cell SQLite finds invalid but Python can read (the bare `NaN`
    and `Infinity` tokens older nbmodels wrote). Returns how many cells were rewritten; a
    cell that is not JSON at all is left as it is."""
    rewritten = 0
    for table, columns in tables.items():
        for column in columns:
            rows = db.execute(f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL "
                              f"AND NOT json_valid({column})").fetchall()
            for rowid, text in rows:
                try:
                    value = json.loads(text)
                except ValueError:
                    continue
                db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                           [encode_json(value), rowid])
                rewritten += 1
    return rewritten
