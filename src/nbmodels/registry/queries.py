"""The SQL behind `Registry.runs(where=..., order_by=..., limit=...)`: every user column,
key and value reaches SQLite as a bound argument, never as SQL text."""

from __future__ import annotations

import math
from typing import Any

from .. import capture
from ..errors import InvalidInputError
from ..jsoncodec import NAN_SQL
from ..versioning import check_text

_SQL_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
_RUN_GROUPS = ("params", "metrics", "tags")


def runs_sql(experiment: str | None, where: dict | None, order_by: str | None,
             limit: int | None) -> tuple[str, list]:
    """The `SELECT` of `Registry.runs` and its arguments. Raises `InvalidInputError` for a
    malformed column, operator or order."""
    from ..tables import RUN_COLUMNS

    conditions, params = (["experiment = ?"], [experiment]) if experiment else ([], [])
    if where is not None and not isinstance(where, dict):
        raise InvalidInputError(f"where must be a dict of column: value, not "
                                f"{type(where).__name__}")
    for column, test in (where or {}).items():
        op, value = _where_test(column, test)
        condition, args = _run_condition(column, op, value)
        conditions.append(condition)
        params += args
    order, args = order_sql(order_by)
    params += args
    sql = (f"SELECT {', '.join(RUN_COLUMNS)}, params, metrics, tags FROM runs"
           + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
           + f" ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit is not None else ""))
    return sql, params


def order_sql(order_by: str | None) -> tuple[str, list]:
    """`ORDER BY` text for `order_by` (`COLUMN` or `COLUMN ASC|DESC`, a `runs()` column)
    and its arguments: missing and NaN values last, then newest first; newest first when
    `order_by` is empty. Raises `InvalidInputError` for a malformed order."""
    if not order_by:
        return "id DESC", []
    column, _, direction = order_by.strip().partition(" ")
    direction = direction.strip().upper() or "ASC"
    if direction not in ("ASC", "DESC"):
        raise InvalidInputError(f"bad order_by {order_by!r}: use 'COLUMN' or "
                                "'COLUMN ASC|DESC'")
    expression, args = _run_column(column, nan_as_null=True)
    return f"{expression} {direction} NULLS LAST, id DESC", args


def _run_column(column: str, nan_as_null: bool = False) -> tuple[str, list]:
    """A `runs()` column name as an SQL expression and its arguments: a fixed column, or
    `params.KEY` / `metrics.KEY` / `tags.KEY` read from the JSON (KEY passed as a bound
    JSON path, so any key is safe). With `nan_as_null` a stored NaN reads as NULL, so it
    sorts last and fails every comparison, as a missing value does."""
    from ..tables import RUN_COLUMNS

    if column in RUN_COLUMNS:
        return column, []
    group, _, key = column.partition(".")
    if group in _RUN_GROUPS and key and '"' not in key:
        expression = f"json_extract({group}, ?)"
        if nan_as_null:
            expression = f"nullif({expression}, '{NAN_SQL}')"
        return expression, [f'$."{key}"']
    raise InvalidInputError(f"bad run column {column!r}: use one of {', '.join(RUN_COLUMNS)} "
                            "or params.NAME, metrics.NAME, tags.NAME")


def _run_condition(column: str, op: str, value) -> tuple[str, list]:
    """One `runs(where=...)` test as SQL: None matches a missing value, NaN a stored NaN;
    any other value compares with NaN values as with missing ones (never true)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        expression, args = _run_column(column)
        if value is None:
            return f"{expression} IS {'NOT ' if op == '!=' else ''}NULL", args
        if op not in ("=", "!="):
            raise InvalidInputError(f"bad test for {column!r}: NaN can only be tested with = "
                                    "or !=")
        return f"{expression} {op} '{NAN_SQL}'", args
    expression, args = _run_column(column, nan_as_null=True)
    return f"{expression} {op} ?", [*args, value]


def _where_test(column, test) -> tuple[str, Any]:
    """A `runs(where=...)` test as (operator, value): a plain value means `=`; the value
    must be one SQLite compares (a number, text, a bool or None)."""
    op, value = ("=", test) if not isinstance(test, tuple) else (
        test if len(test) == 2 else (None, None))
    if op not in _SQL_OPERATORS:
        raise InvalidInputError(f"bad test {test!r} for {column!r}: give a value or "
                                f"(OPERATOR, value) with one of {', '.join(_SQL_OPERATORS)}")
    value = capture.json_value(value)
    if isinstance(value, int) and not -2**63 <= value < 2**63:  # beyond SQLite's integers
        value = float(value)
    if value is not None and not isinstance(value, (int, float, str)):
        raise InvalidInputError(f"bad value {value!r} for {column!r}: compare with a number, "
                                "text, a bool or None")
    if isinstance(value, str):
        check_text(value, f"value for {column!r}")
    return op, value
