"""`compare(registry, *refs, on=None)`: resolve the REFs and build a `Comparison`."""

from __future__ import annotations

from typing import Sequence

from ..errors import InvalidInputError, NotFoundError
from ..records import ModelVersion, Run
from .report import Comparison
from .targets import Target


def compare(registry, *refs: str, on: tuple | None = None) -> "Comparison":
    """Compare runs and/or model versions.

    REFs are run ids (or 6+ character prefixes), `NAME@1.2.0`, `NAME@production` or `NAME`
    (the latest version). A single `NAME` of a registered model compares all its versions in
    version order. The same REF may be given twice (it is then compared with itself).
    With `on=(X, y)` the models are loaded and scored on that data (`Comparison.scores`).

    Returns a `Comparison`. Raises `InvalidInputError` for no REF, one REF that is not a model
    name, or a bad `on`; `NotFoundError`/`AmbiguousRefError` for a REF that names nothing or
    several runs.
    """
    refs = tuple(str(r).strip(" ") for r in refs)  # a control character is an error
    if not refs:
        raise InvalidInputError("nothing to compare: give two or more REFs, or a model NAME")
    model = None
    if len(refs) == 1:
        if "@" in refs[0]:
            raise InvalidInputError(
                f"compare needs two or more REFs, or a model NAME for all its versions; got only "
                f"{refs[0]!r} (to compare a version with itself, give it twice)")
        try:
            versions = registry.list_versions(refs[0])
        except (NotFoundError, InvalidInputError):
            target = registry.resolve(refs[0])  # a clear NotFoundError for an unknown name
            raise InvalidInputError(
                f"compare needs two or more REFs, or a model NAME; {refs[0]!r} is a "
                f"{'run' if isinstance(target, Run) else 'version'}: give another REF") from None
        model = refs[0]
        runs = _runs_by_id(registry, [v.run_id for v in versions])
        targets = [Target(v.ref, v.ref, runs.get(v.run_id), v) for v in versions]
    else:
        labels = _unique_labels(refs)
        resolved = [registry.resolve(ref) for ref in refs]
        runs = _runs_by_id(registry, [t.run_id for t in resolved if isinstance(t, ModelVersion)])
        targets = [Target(label, ref, runs.get(t.run_id), t) if isinstance(t, ModelVersion)
                   else Target(label, ref, t, None)
                   for label, ref, t in zip(labels, refs, resolved)]
    comparison = Comparison(targets, registry=registry, model=model)
    if on is not None:
        comparison.score(*_check_on(on))
    return comparison


def _runs_by_id(registry, run_ids) -> dict[str, Run]:
    runs = {}
    for run_id in dict.fromkeys(r for r in run_ids if r):
        try:
            runs[run_id] = registry.run(run_id)
        except NotFoundError:  # a version whose run was removed compares params/metrics only
            pass
    return runs


def _unique_labels(refs: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    labels = []
    for ref in refs:
        seen[ref] = seen.get(ref, 0) + 1
        labels.append(ref if seen[ref] == 1 else f"{ref} ({seen[ref]})")
    return labels


def _check_on(on) -> tuple:
    try:
        X, y = on
    except (TypeError, ValueError):
        raise InvalidInputError("on= takes a pair (X, y): features and true targets") from None
    try:
        rows = len(X), len(y)
    except TypeError:  # a model, a number: what has no rows
        raise InvalidInputError(f"on=(X, y) takes data with rows: got a {type(X).__name__} "
                                f"and a {type(y).__name__}") from None
    if rows[0] != rows[1]:
        raise InvalidInputError(f"on=(X, y): X has {rows[0]} rows but y has {rows[1]}")
    return X, y
