"""`Registry.record_run`: a tracked cell's variables and inputs captured, stored and
committed as one run."""

from __future__ import annotations

import functools
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import capture
from ..dbfile import guard_errors
from ..records import Run
from ..store import decode_row, encode_json, run_from_row
from ..tracking import CellRecord
from ..versioning import check_tags, check_text
from .common import iso_time, json_map, recorded_importance
from .lineage import lineage_row
from .storing import RunObjects

DEFAULT_MAX_OBJECT_BYTES = 512 * 2**20


@guard_errors
class RecordingMixin:
    """Recording tracked cells as runs (`record_run`)."""

    def record_run(self, cell: CellRecord, max_object_bytes: int | None = DEFAULT_MAX_OBJECT_BYTES,
                   store_inputs: bool = True, progress=None) -> Run:
        """Store a tracked cell's run: its objects first, then its rows in one transaction.
        `progress(bytes written, bytes expected)` is told as its models are stored."""
        return self.record(cell, max_object_bytes, store_inputs, progress).run

    def record(self, cell: CellRecord, max_object_bytes: int | None = DEFAULT_MAX_OBJECT_BYTES,
               store_inputs: bool = True, progress=None) -> RecordedRun:
        """`record_run`, answered with the committed run's id and models at once and its
        `Run` built only when asked (`.run`): a tracked cell that shows no summary and
        stored no model needs neither."""
        from ulid import ULID

        check_text(cell.experiment, "experiment")
        check_text(cell.note, "note")
        check_tags(cell.tags)
        run_id = str(ULID.from_datetime(cell.started_at))
        # objects go to disk (fsync) while the rest of the run is captured and described
        objects = RunObjects(_ModelBytes(progress) if progress is not None else None)
        try:
            variables = [self._capture_variable(objects, name, value, cell, max_object_bytes)
                         for name, value in sorted(cell.values.items())]
            inputs = [self._capture_input(objects, name, value, cell.input_summaries.get(name),
                                          max_object_bytes if store_inputs else 0)
                      for name, value in sorted(cell.inputs.items())]
            row = _run_row(cell, run_id, variables)
        finally:
            self._published(objects)  # before any row pointing at them commits
        for captured in [*variables, *inputs]:
            captured["run_id"] = run_id
        variable_rows = [{**v, "value": encode_json(v["value"])}
                         for v in _rows_without(variables, "stored", "fingerprint")]
        input_rows = _rows_without(inputs, "stored")
        with self.store.write():
            self._insert_objects([*variables, *inputs])
            self.store.insert("runs", [row])
            self.store.insert("variables", variable_rows)
            self.store.insert("inputs", input_rows)
            self.store.insert("data_objects", (
                {"fingerprint": r["fingerprint"], "object_hash": r["object_hash"]}
                for r in [*variables, *inputs] if r.get("fingerprint") and r["object_hash"]),
                ignore=True)
            if cell.lineage is not None:
                self.store.insert("lineage", [lineage_row(run_id, cell.lineage)])
        recorded = RecordedRun(row, variable_rows, input_rows)
        if recorded.models:  # `%register` of one of them reads the run next
            self.store.remember(("run", run_id), recorded.run)
        return recorded

    def _capture_variable(self, objects: RunObjects, name: str, value: Any, cell: CellRecord,
                          max_bytes: int | None) -> dict:
        computed = capture.cell_names(cell.source).computed  # cached: no second parse
        role = capture.role_of(name, value, cell.param_names, cell.metric_names, computed)
        row = {"run_id": None, "name": name, "role": role, "type": capture.type_name(value),
               "object_hash": None, "size": None, "value": None, "data": None, "reason": None,
               "stored": None, "fingerprint": None}
        if role in ("param", "metric"):
            row["value"] = capture.json_value(value)
            return row
        try:  # one value that cannot be described never loses the run
            summary = capture.summarize_data(value) if role == "data" else None
        except Exception as exc:  # noqa: BLE001
            row["reason"] = f"not captured: {type(exc).__name__}: {exc}"
            return row
        reuse = summary.fingerprint if summary is not None and summary.complete else None
        if summary is not None:
            row["data"] = encode_json(_summary_dict(summary))
            row["fingerprint"] = reuse
        # A model is described (importance walks every tree) while its file is fsynced,
        # which leaves the GIL free: not while it is pickled, which holds the GIL.
        description = []

        def describe() -> None:
            description.append(_background().submit(_model_data, value))

        self._store_safely(objects, row, value, max_bytes, reuse,
                           describe if role == "model" else None)
        if role == "model":
            if not description:  # nothing was written (stored already, or unstorable)
                describe()
            try:
                row["data"] = description[0].result()
            except Exception as exc:  # noqa: BLE001  its file, if written, is left to gc
                row.update(reason=f"not captured: {type(exc).__name__}: {exc}",
                           object_hash=None, stored=None, size=None)
        return row

    def _capture_input(self, objects: RunObjects, name: str, value: Any, summary,
                       max_bytes: int | None) -> dict:
        summary = summary or capture.summarize_data(value)
        row = {"run_id": None, "name": name, "type": capture.type_name(value),
               "fingerprint": summary.fingerprint, "schema": encode_json(summary.schema),
               "stats": encode_json(summary.stats), "object_hash": None, "reason": None,
               "stored": None}
        if max_bytes == 0:
            row["reason"] = "content not stored (NBModels.store_inputs is False)"
            return row
        # An incomplete fingerprint (content not fully read) proves nothing: no reuse.
        self._store_safely(objects, row, value, max_bytes,
                           summary.fingerprint if summary.complete else None)
        return row


class RecordedRun:
    """A run `Registry.record` just committed: its `id` and `models` (captured model
    variables: name -> object hash) at once, its `Run` on first use (`run`), built from the
    committed rows as a read would (reading them back costs three queries)."""

    def __init__(self, row: dict, variable_rows: list[dict], input_rows: list[dict]):
        self.id: str = row["id"]
        self.models = {v["name"]: v["object_hash"] for v in variable_rows
                       if v["role"] == "model" and v["reason"] is None}
        self._rows = (row, variable_rows, input_rows)

    @functools.cached_property
    def run(self) -> Run:
        row, variable_rows, input_rows = self._rows
        return run_from_row(decode_row(row),
                            [decode_row(v) for v in sorted(variable_rows, key=_name)],
                            [decode_row(i) for i in sorted(input_rows, key=_name)])


class _ModelBytes:
    """One `progress(done, total)` over the models a run stores one after another: the
    bytes of the models stored before this one count as done."""

    def __init__(self, progress):
        self.progress, self.before = progress, 0

    def __call__(self, done: int, total: int) -> None:
        self.progress(self.before + done, self.before + total)

    def stored(self, size: int) -> None:
        self.before += size


def _model_data(model: Any) -> str:
    return encode_json({"params": capture.model_params(model),
                        "signature": capture.model_signature(model),
                        "importance": recorded_importance(model)})


@functools.cache
def _background() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbmodels-describe")


def _run_row(cell: CellRecord, run_id: str, variables: list[dict]) -> dict:
    """The `runs` row of a run whose variables are captured."""
    params = _run_params(variables, cell)
    metrics = {**{v["name"]: v["value"] for v in variables if v["role"] == "metric"},
               **{k: capture.json_value(v) for k, v in cell.logged_metrics.items()}}
    env = capture.environment()
    return {
        "id": run_id, "experiment": cell.experiment, "status": cell.status,
        "started_at": iso_time(cell.started_at), "ended_at": iso_time(cell.ended_at),
        "duration_s": round((cell.ended_at - cell.started_at).total_seconds(), 6),
        "user": env.get("user"), "host": env.get("host"), "notebook": cell.notebook,
        "note": cell.note, "source": cell.source, "error": cell.error,
        "params": encode_json(params), "metrics": encode_json(metrics),
        "tags": encode_json(cell.tags), "packages": _flat_json(env.get("packages", {})),
        "python": env.get("python"), "git": _flat_json(cell.git) if cell.git else None,
    }


def _flat_json(value: dict) -> str:
    """JSON of the packages or the git state, which most runs share with the run before:
    kept when every key is text and every value text, a bool or None (no two such dicts
    are equal unless their JSON is: `1 == True`, `0.0 == -0.0` cannot meet here)."""
    items = tuple(value.items())
    if all(type(k) is str and type(v) in _FLAT_VALUES for k, v in items):
        return _json_of_items(items)
    return encode_json(value)


_FLAT_VALUES = frozenset({str, bool, type(None)})


@functools.lru_cache(maxsize=16)
def _json_of_items(items: tuple) -> str:
    return encode_json(dict(items))


def _name(row: dict) -> str:
    return row["name"]


def _rows_without(rows: list[dict], *keys: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in keys} for row in rows]


def _summary_dict(summary) -> dict:
    return {"fingerprint": summary.fingerprint, "schema": summary.schema,
            "stats": summary.stats, "nbytes": summary.nbytes}


def _run_params(variables: list[dict], cell: CellRecord) -> dict:
    """The cell's own params first (they win a clash), then `log_param` values, then the
    hyperparameters of each model no other captured model contains (a pipeline's, not
    again its steps'): bare names for one such model, `VAR.NAME` for several."""

    params = {v["name"]: v["value"] for v in variables if v["role"] == "param"}
    if cell.logged_params:
        params.update(json_map(cell.logged_params))
    models = [v for v in variables if v["role"] == "model" and v["data"]]
    if not models:
        return params
    outer = set(capture.top_level_models({v["name"]: cell.values[v["name"]] for v in models}))
    models = [v for v in models if v["name"] in outer]
    for model in models:
        prefix = f"{model['name']}." if len(models) > 1 else ""
        for key, value in json.loads(model["data"])["params"].items():
            params.setdefault(prefix + key, value)
    return params
