"""Compare runs and model versions: what changed, and which one is better.

`compare(registry, *refs, on=None)` resolves each REF through the registry and returns a
`Comparison`: pandas DataFrames with one column per REF (params, metrics, data schema and
statistics, environment, model facts, feature importance, scores on given data), the code
diff as text, and `to_dict()` / `to_text()` for the REST server and the CLI. Nothing here
imports ipywidgets; the views live in `nbmodels.widgets`.

Column labels are the REFs as given, made unique when one is repeated (`bc@1.0.0`,
`bc@1.0.0 (2)`); `compare(registry, "NAME")` labels the versions `NAME@1.0.0`, ...
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

from .errors import InvalidInputError, NbModelsError, NotFoundError
from .records import ModelVersion, Run

__all__ = ["compare", "Comparison", "Target", "CodeDiff", "BETTER", "WORSE", "SAME"]

BETTER, WORSE, SAME = "better", "worse", "same"
_MISSING = object()
_MODEL_FIELDS = ("kind", "name", "version", "stage", "run_id", "experiment", "model_type",
                 "size", "created_at", "user", "bump", "note", "tags", "object_hash")


# ---- what is compared ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One column of a comparison: a run, or a model version (with its run when it has one)."""

    label: str
    ref: str
    run: Run | None = None
    version: ModelVersion | None = None

    @property
    def kind(self) -> str:
        return "version" if self.version is not None else "run"

    @property
    def load_ref(self) -> str:
        """The REF that loads exactly this target's model."""
        return self.version.ref if self.version is not None else self.run.id

    @property
    def params(self) -> dict:
        return self.version.params if self.version is not None else self.run.params

    @property
    def metrics(self) -> dict:
        return self.version.metrics if self.version is not None else self.run.metrics

    @property
    def source(self) -> str | None:
        return self.run.source if self.run is not None else None

    @property
    def packages(self) -> dict | None:
        return self.run.packages if self.run is not None else None

    @property
    def stage(self) -> str | None:
        return self.version.stage if self.version is not None else None

    @property
    def datasets(self) -> dict[str, dict] | None:
        """Data the run read (inputs) and data it bound (data variables, which win a name
        clash), by name: `{"type", "fingerprint", "schema", "stats"}`. None without a run."""
        if self.run is None:
            return None
        found = {item.name: {"type": item.type, "fingerprint": item.fingerprint,
                             "schema": item.schema or {}, "stats": item.stats or {}}
                 for item in self.run.inputs}
        for var in self.run.variables:
            # a name the cell read and then rebound (`X = X.drop(...)`) is shown as the cell
            # left it: that is what the model was fitted on
            if var.role == "data" and var.data:
                found[var.name] = {"type": var.type, "fingerprint": var.data.get("fingerprint"),
                                   "schema": var.data.get("schema") or {},
                                   "stats": var.data.get("stats") or {}}
        return found

    def facts(self) -> dict:
        """Model facts: the rows of `Comparison.models`."""
        run, version = self.run, self.version
        if version is not None:
            return {"kind": "version", "name": version.name, "version": version.version,
                    "stage": version.stage, "run_id": version.run_id,
                    "experiment": run.experiment if run else None,
                    "model_type": version.model_type, "size": version.size,
                    "created_at": version.created_at, "user": version.user,
                    "bump": f"{version.bump}: {version.bump_reason}", "note": version.note,
                    "tags": _tags_text(version.tags), "object_hash": version.object_hash[:12]}
        models = run.models
        return {"kind": "run", "name": None, "version": None, "stage": None, "run_id": run.id,
                "experiment": run.experiment,
                "model_type": ", ".join(m.type for m in models) or None,
                "size": sum(m.size or 0 for m in models) if models else None,
                "created_at": run.started_at, "user": run.user, "bump": None, "note": run.note,
                "tags": _tags_text(run.tags),
                "object_hash": ", ".join((m.object_hash or "")[:12] for m in models) or None}


@dataclass(frozen=True)
class CodeDiff:
    """The cell-code diff between two consecutive targets: unified text and side-by-side rows
    `(tag, a_lineno, a_text, b_lineno, b_text)` with tag `equal`, `replace`, `delete`,
    `insert` (line numbers from 1; None on the side where the line does not exist)."""

    a: str
    b: str
    unified: str
    rows: tuple[tuple, ...] = ()

    @property
    def changed(self) -> bool:
        return any(row[0] != "equal" for row in self.rows)

    def to_dict(self) -> dict:
        return {"from": self.a, "to": self.b, "unified": self.unified, "changed": self.changed,
                "rows": [dict(zip(("tag", "a_line", "a", "b_line", "b"), r)) for r in self.rows]}


# ---- the engine ------------------------------------------------------------------------------

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
    refs = tuple(str(r).strip() for r in refs)
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
    if len(X) != len(y):
        raise InvalidInputError(f"on=(X, y): X has {len(X)} rows but y has {len(y)}")
    return X, y


class Comparison:
    """What changed between runs/versions, one DataFrame column per REF.

    Attributes (DataFrames unless noted; the REF columns are `labels`):
    - `params`: union of parameter names; `changed` column.
    - `metrics`: values, `delta <label>` (against the first REF), `change <label>`
      (`better`/`worse`/`same`, direction-aware), `lower_is_better`, `best` (a label).
    - `code` (str): unified diff between consecutive cell sources; `code_diffs`: `CodeDiff`s
      with a side-by-side form; `sources`: label -> cell source.
    - `data`: (input, column) -> dtype per REF and `change` (`added`, `removed`,
      `dtype changed`, ``); `data_stats`: (input, column, stat) side by side, `changed`;
      `inputs`: (input, fingerprint|type|shape) per REF, `changed`.
    - `env`: packages whose versions differ.
    - `models`: model facts (type, size, stage, run, note, tags ...), `changed`.
    - `importance`: features (feature_importances_ or coef_) sorted by how much their
      importance changed (loads the models on first access).
    - `scores`: after `on=(X, y)`: task metrics on that data and `disagreement`.
    """

    def __init__(self, targets: list[Target], registry=None, model: str | None = None):
        self.targets = list(targets)
        self.labels = [t.label for t in self.targets]
        self.registry = registry
        self.model = model  # set when comparing every version of one model
        self.warnings: list[str] = []
        self.scores = None
        self.disagreement: dict[str, float] | None = None
        self._models: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Comparison of {', '.join(self.labels)}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.to_text())

    def _repr_html_(self) -> str:
        from .widgets import comparison_html

        return comparison_html(self)

    @property
    def wants_chart(self) -> bool:
        """A chart of each metric across versions: for a whole model or three or more REFs."""
        return self.model is not None or len(self.targets) >= 3

    # ---- params and metrics -----------------------------------------------------------------

    @cached_property
    def params(self):
        import pandas as pd

        keys = list(dict.fromkeys(k for t in self.targets for k in t.params))
        rows = {k: [t.params.get(k, _MISSING) for t in self.targets] for k in keys}
        frame = pd.DataFrame({label: pd.Series([_none(rows[k][i]) for k in keys], index=keys,
                                               dtype=object)
                              for i, label in enumerate(self.labels)}, index=keys, dtype=object)
        frame["changed"] = pd.Series([not _all_same(rows[k]) for k in keys], index=keys,
                                     dtype=bool)
        frame.index.name = "param"
        return frame

    @cached_property
    def metrics(self):
        values = {k: [t.metrics.get(k) for t in self.targets]
                  for k in dict.fromkeys(k for t in self.targets for k in t.metrics)}
        return _delta_frame(values, self.labels, "metric")

    # ---- code ---------------------------------------------------------------------------

    @property
    def sources(self) -> dict[str, str | None]:
        return {t.label: t.source for t in self.targets}

    @cached_property
    def code_diffs(self) -> list[CodeDiff]:
        with_code = [t for t in self.targets if t.source is not None]
        return [_code_diff(a.label, a.source, b.label, b.source)
                for a, b in zip(with_code, with_code[1:])]

    @property
    def code(self) -> str:
        return "".join(d.unified for d in self.code_diffs)

    # ---- data, environment, model facts ---------------------------------------------------

    @cached_property
    def data(self):
        import pandas as pd

        sets = self._datasets
        keys = list(dict.fromkeys((name, col) for found in sets.values() if found
                                  for name, d in found.items() for col in _columns(d["schema"])))
        cells = {key: [_dtype_of(sets[t.label], *key) for t in self.targets] for key in keys}
        known = self._known(sets)
        frame = _label_frame(self.labels, keys, cells, ("input", "column"))
        frame["change"] = pd.Series([_schema_change([cells[k][i] for i in known]) for k in keys],
                                    index=frame.index, dtype=object)
        return frame

    @cached_property
    def data_stats(self):
        sets = self._datasets
        keys, cells = [], {}
        for found in sets.values():
            for name, d in (found or {}).items():
                for col, stats in (d["stats"] or {}).items():
                    for stat in stats:
                        key = (name, col, stat)
                        if key not in cells:
                            keys.append(key)
                            cells[key] = [_stat_of(sets[t.label], *key) for t in self.targets]
        return _changed_frame(self.labels, keys, cells, ("input", "column", "stat"),
                              self._known(sets))

    @cached_property
    def inputs(self):
        sets = self._datasets
        names = list(dict.fromkeys(n for found in sets.values() if found for n in found))
        keys = [(name, facet) for name in names
                for facet in ("name", "fingerprint", "type", "shape")]
        cells = {(name, facet): [_data_facet(sets[t.label], name, facet) for t in self.targets]
                 for name, facet in keys}
        return _changed_frame(self.labels, keys, cells, ("input", "field"), self._known(sets))

    @cached_property
    def _datasets(self) -> dict[str, dict | None]:
        return _align_datasets([(t.label, t.datasets) for t in self.targets])

    def _known(self, by_label: dict) -> list[int]:
        return [i for i, t in enumerate(self.targets) if by_label[t.label] is not None]

    @cached_property
    def env(self):
        packages = {t.label: t.packages for t in self.targets}
        names = sorted(dict.fromkeys(p for found in packages.values() if found for p in found))
        cells = {p: [(packages[t.label] or {}).get(p) for t in self.targets] for p in names}
        known = self._known(packages)
        differing = [p for p in names if not _all_same([cells[p][i] for i in known])]
        return _label_frame(self.labels, differing, cells, "package")

    @cached_property
    def models(self):
        import pandas as pd

        facts = [t.facts() for t in self.targets]
        cells = {f: [fact[f] for fact in facts] for f in _MODEL_FIELDS}
        frame = _label_frame(self.labels, list(_MODEL_FIELDS), cells, "field")
        frame["changed"] = pd.Series([not _all_same(cells[f]) for f in _MODEL_FIELDS],
                                     index=frame.index, dtype=bool)
        return frame

    # ---- loaded models: importance and scores ---------------------------------------------

    def model_object(self, target: Target) -> Any:
        """The target's model loaded through the registry (hash verified), cached; package
        version warnings are kept in `warnings` rather than raised."""
        key = target.load_ref
        if key not in self._models:
            if self.registry is None:
                raise InvalidInputError("this comparison has no registry to load models from")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._models[key] = self.registry.load(key)
            for warning in caught:
                self._warn(f"{target.label}: {warning.message}")
        return self._models[key]

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @cached_property
    def importance(self):
        """Feature importance per REF (`feature_importances_`, else `coef_`; mean absolute
        value over classes for a multi-class `coef_`), with `change` (largest minus smallest
        value) and rows sorted by how much it changed. Empty when no model exposes any."""
        import pandas as pd

        found: dict[str, dict] = {}
        for target in self.targets:
            try:
                model = self.model_object(target)
            except NbModelsError as exc:
                self._warn(f"{target.label}: no importance ({exc})")
                continue
            values = feature_importance(model)
            if values is not None:
                found[target.label] = values
        features = list(dict.fromkeys(f for v in found.values() for f in v))
        frame = pd.DataFrame({label: [found.get(label, {}).get(f, math.nan) for f in features]
                              for label in self.labels}, index=features, dtype=float)
        frame.index.name = "feature"
        if features:
            frame["change"] = frame[self.labels].max(axis=1) - frame[self.labels].min(axis=1)
            order = frame["change"].abs().fillna(math.inf).sort_values(ascending=False,
                                                                       kind="stable")
            frame = frame.loc[order.index]
        else:
            frame["change"] = pd.Series(dtype=float)
        return frame

    def score(self, X, y) -> "Comparison":
        """Load every model and score it on (X, y): `scores` (accuracy, F1, ROC AUC for
        classifiers; RMSE, MAE, R² for regressors; `disagreement` with the first REF's
        predictions) and `disagreement` (label -> fraction of rows). Returns self."""
        import numpy as np

        y_true = np.asarray(y)
        values: dict[str, list] = {}
        predictions: dict[str, Any] = {}
        for i, target in enumerate(self.targets):
            model = self.model_object(target)
            scored, predicted = score_model(model, X, y_true, label=target.label)
            predictions[target.label] = predicted
            for metric, value in scored.items():
                values.setdefault(metric, [None] * len(self.targets))[i] = value
        first = predictions[self.labels[0]]
        self.disagreement = {label: _disagreement(first, pred)
                             for label, pred in predictions.items()}
        values["disagreement"] = [self.disagreement[label] for label in self.labels]
        self.scores = _delta_frame(values, self.labels, "metric", unmarked={"disagreement"})
        return self

    # ---- output ---------------------------------------------------------------------------

    def summary(self) -> dict:
        """Counts for a headline: changed params, better/worse metrics, code/data changes."""
        metrics = self.metrics
        marks = [v for c in metrics.columns if c.startswith("change ") for v in metrics[c]]
        return {"params_changed": int(self.params["changed"].sum()),
                "params": len(self.params), "metrics": len(metrics),
                "better": marks.count(BETTER), "worse": marks.count(WORSE),
                "code_changed": any(d.changed for d in self.code_diffs),
                "data_changes": int((self.data["change"] != "").sum()),
                "packages_changed": len(self.env)}

    def to_dict(self, importance: bool = True) -> dict:
        """The comparison as JSON-safe data (the REST server's and `nbmodels diff --json`'s
        shape). `importance=False` skips loading the models for feature importance."""
        rows = _frame_rows
        return {
            "refs": list(self.labels),
            "model": self.model,
            "targets": [{"label": t.label, "ref": t.ref, **_jsonable(t.facts())}
                        for t in self.targets],
            "summary": self.summary(),
            "params": rows(self.params, self.labels, {"changed": "changed"}),
            "metrics": _delta_rows(self.metrics, self.labels),
            "code": {"unified": self.code, "diffs": [d.to_dict() for d in self.code_diffs],
                     "sources": dict(self.sources)},
            "data": rows(self.data, self.labels, {"change": "change"}),
            "data_stats": rows(self.data_stats, self.labels, {"changed": "changed"}),
            "inputs": rows(self.inputs, self.labels, {"changed": "changed"}),
            "env": rows(self.env, self.labels, {}),
            "models": rows(self.models, self.labels, {"changed": "changed"}),
            "importance": rows(self.importance, self.labels, {"change": "change"})
            if importance else None,
            "scores": _delta_rows(self.scores, self.labels) if self.scores is not None else None,
            "disagreement": _jsonable(self.disagreement),
            "warnings": list(self.warnings),
        }

    def to_text(self, width: int = 100) -> str:
        """A plain-text report (the CLI's `nbmodels diff`): models, metrics, changed params,
        code diff, data schema changes, package changes."""
        import pandas as pd

        def table(frame) -> str:
            with pd.option_context("display.width", width, "display.max_columns", 50,
                                   "display.max_colwidth", 40):
                return frame.to_string()

        out = [f"Comparing {' ↔ '.join(self.labels)}"]
        info = self.summary()
        out.append(f"{info['params_changed']} of {info['params']} params changed · "
                   f"{info['better']} metric(s) better, {info['worse']} worse · code "
                   f"{'changed' if info['code_changed'] else 'unchanged'} · "
                   f"{info['data_changes']} data schema change(s) · "
                   f"{info['packages_changed']} package(s) differ")
        out += ["", "== Models", table(self.models.drop(columns="changed"))]
        if len(self.metrics):
            out += ["", "== Metrics", table(self.metrics)]
        if self.scores is not None:
            out += ["", "== Scores on the given data", table(self.scores)]
        changed = self.params[self.params["changed"]]
        out += ["", f"== Params ({len(changed)} changed, {len(self.params) - len(changed)} same)"]
        if len(changed):
            out.append(table(changed.drop(columns="changed")))
        out += ["", "== Code"]
        out.append(self.code.rstrip("\n") if self.code else
                   ("(same code)" if self.code_diffs else "(no code recorded)"))
        schema = self.data[self.data["change"] != ""]
        out += ["", f"== Data ({len(schema)} schema change(s))"]
        if len(schema):
            out.append(table(schema))
        fingerprints = self.inputs[self.inputs["changed"]]
        if len(fingerprints):
            out.append(table(fingerprints.drop(columns="changed")))
        out += ["", f"== Environment ({len(self.env)} package(s) differ)"]
        if len(self.env):
            out.append(table(self.env))
        for warning in self.warnings:
            out.append(f"warning: {warning}")
        return "\n".join(out) + "\n"


# ---- scoring ---------------------------------------------------------------------------------

def is_classifier(model: Any) -> bool:
    """Whether a model classifies (sklearn's `is_classifier`, else `predict_proba`)."""
    try:
        from sklearn.base import is_classifier as sk_is_classifier

        if sk_is_classifier(model):
            return True
    except Exception:  # sklearn missing, or a model sklearn's tags cannot read
        pass
    if getattr(model, "_estimator_type", None) == "classifier":
        return True
    return hasattr(model, "predict_proba") and hasattr(model, "classes_")


def model_features(model: Any, X):
    """X restricted to the model's own input columns when it names them (so two versions
    trained on different columns can be scored on one frame). Raises `InvalidInputError`
    when X lacks a column the model needs."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return X
    missing = [str(n) for n in names if n not in X.columns]
    if missing:
        raise InvalidInputError(f"X lacks column(s) the model needs: {', '.join(missing[:5])}")
    return X[list(names)]


def score_model(model: Any, X, y_true, label: str = "model") -> tuple[dict, Any]:
    """Task-appropriate scores of `model` on (X, y) and its predictions."""
    import numpy as np
    from sklearn import metrics as skm

    if not hasattr(model, "predict"):
        raise InvalidInputError(f"{label}: cannot score a {type(model).__name__}: it has no "
                                "predict()")
    features = model_features(model, X)
    predicted = np.asarray(model.predict(features))
    if is_classifier(model):
        labels = np.unique(np.concatenate([np.unique(y_true), np.unique(predicted)]))
        binary = len(np.unique(y_true)) <= 2 and len(labels) <= 2
        scores = {"accuracy": float(skm.accuracy_score(y_true, predicted))}
        if binary:
            scores["f1"] = float(skm.f1_score(y_true, predicted, pos_label=_positive(labels)))
        else:
            scores["f1_macro"] = float(skm.f1_score(y_true, predicted, average="macro"))
        if hasattr(model, "predict_proba"):
            scores["roc_auc"] = _roc_auc(model, features, y_true, binary)
        return scores, predicted
    predicted = predicted.astype(float).reshape(len(y_true), -1).squeeze()
    return {"rmse": float(math.sqrt(skm.mean_squared_error(y_true, predicted))),
            "mae": float(skm.mean_absolute_error(y_true, predicted)),
            "r2": float(skm.r2_score(y_true, predicted))}, predicted


def _positive(labels) -> Any:
    """sklearn's default positive label 1 when present, else the larger label."""
    values = list(labels)
    return 1 if 1 in values else values[-1]


def _roc_auc(model, features, y_true, binary: bool) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    try:
        proba = np.asarray(model.predict_proba(features))
        classes = list(getattr(model, "classes_", range(proba.shape[1])))
        if binary:
            column = classes.index(_positive(classes)) if len(classes) == 2 else -1
            return float(roc_auc_score(y_true, proba[:, column]))
        return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    except ValueError:  # e.g. one class only in y
        return math.nan


def _disagreement(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return 0.0
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        differ = ~np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=0, equal_nan=True)
    else:
        differ = a != b
    return float(np.mean(differ))


# ---- feature importance ------------------------------------------------------------------------

def feature_importance(model: Any) -> dict[str, float] | None:
    """Feature name -> importance from `feature_importances_` or `coef_` (the final step of a
    pipeline), or None when the model exposes neither."""
    import numpy as np

    final = model
    if hasattr(model, "steps") and model.steps:
        final = model.steps[-1][1]
    values = getattr(final, "feature_importances_", None)
    if values is None:
        coef = getattr(final, "coef_", None)
        if coef is None:
            return None
        coef = np.asarray(coef, dtype=float)
        values = coef.ravel() if coef.ndim == 1 or coef.shape[0] == 1 else np.abs(coef).mean(0)
    try:
        values = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    names = _feature_names(model, final, len(values))
    return {str(n): float(v) for n, v in zip(names, values)}


def _feature_names(model, final, count: int) -> list[str]:
    candidates = [getattr(final, "feature_names_in_", None), getattr(model, "feature_names_in_", None),
                  getattr(final, "feature_name_", None)]
    booster = getattr(final, "get_booster", None)
    if booster is not None:
        try:
            candidates.append(booster().feature_names)
        except Exception:  # an unfitted or foreign booster
            pass
    if hasattr(model, "steps") and len(model.steps) > 1:
        try:
            candidates.append(model[:-1].get_feature_names_out())
        except Exception:  # a step without get_feature_names_out
            pass
    for names in candidates:
        if names is not None and len(names) == count:
            return [str(n) for n in names]
    return [f"x{i}" for i in range(count)]


# ---- helpers ------------------------------------------------------------------------------

def _none(value):
    return None if value is _MISSING else value


def _same(a, b) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):  # True == 1 in Python, not in a diff
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # values whose == is not a bool
        return False


def _all_same(values: list) -> bool:
    return all(_same(values[0], v) for v in values[1:]) if values else True


def as_number(value) -> float | None:
    """A value as a float; None when it is missing, NaN or not a number."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _delta_frame(values: dict[str, list], labels: list[str], index_name: str,
                 unmarked: set = frozenset()):
    """Values per label, then `delta <label>` and `change <label>` against the first label,
    `lower_is_better` and `best`."""
    import pandas as pd

    from .registry import lower_is_better

    keys = list(values)
    numbers = {k: [as_number(v) for v in values[k]] for k in keys}
    data: dict[str, Any] = {label: [numbers[k][i] for k in keys] for i, label in enumerate(labels)}
    frame = pd.DataFrame(data, index=keys, dtype=float)
    lower = {k: lower_is_better(k) for k in keys}
    for i, label in enumerate(labels[1:], start=1):
        frame[f"delta {label}"] = [
            None if numbers[k][0] is None or numbers[k][i] is None else numbers[k][i] - numbers[k][0]
            for k in keys]
        frame[f"delta {label}"] = frame[f"delta {label}"].astype(float)
    for i, label in enumerate(labels[1:], start=1):
        frame[f"change {label}"] = pd.Series(
            ["" if k in unmarked else _mark(numbers[k][0], numbers[k][i], lower[k]) for k in keys],
            index=keys, dtype=object)
    frame["lower_is_better"] = pd.Series([lower[k] for k in keys], index=keys, dtype=bool)
    frame["best"] = pd.Series(["" if k in unmarked else _best(numbers[k], labels, lower[k])
                               for k in keys], index=keys, dtype=object)
    frame.index.name = index_name
    return frame


def _mark(first: float | None, other: float | None, lower: bool) -> str:
    if first is None or other is None:
        return ""
    if other == first:
        return SAME
    return BETTER if (other < first) == lower else WORSE


def _best(numbers: list, labels: list[str], lower: bool) -> str:
    present = [(n, label) for n, label in zip(numbers, labels) if n is not None]
    if len(present) < 2 or len({n for n, _ in present}) == 1:
        return ""
    return (min if lower else max)(present, key=lambda p: p[0])[1]


def _label_frame(labels, keys, cells, index_names):
    import pandas as pd

    if isinstance(index_names, tuple):
        index = pd.MultiIndex.from_tuples(keys, names=list(index_names)) if keys else \
            pd.MultiIndex.from_tuples([], names=list(index_names))
    else:
        index = pd.Index(keys, name=index_names, dtype=object)
    return pd.DataFrame({label: pd.Series([cells[k][i] for k in keys], index=index, dtype=object)
                         for i, label in enumerate(labels)}, index=index, dtype=object)


def _changed_frame(labels, keys, cells, index_names, known: list[int]):
    import pandas as pd

    frame = _label_frame(labels, keys, cells, index_names)
    frame["changed"] = pd.Series([not _all_same([cells[k][i] for i in known]) for k in keys],
                                 index=frame.index, dtype=bool)
    return frame


def _align_datasets(found: list[tuple[str, dict | None]]) -> dict[str, dict | None]:
    """Datasets of each target keyed by a shared slot name, so that `X_train` in one run and
    `X2` in the next (same kind, mostly the same columns) are compared with each other.

    A name present in an earlier target keeps its slot; a new name takes the free slot of
    the same kind whose columns overlap most (at least half, Jaccard), else a slot of its own.
    Each dataset keeps its own name under "name"."""
    slots: dict[str, dict] = {}  # slot name -> the latest dataset seen in it
    aligned: dict[str, dict | None] = {}
    for label, datasets in found:
        if datasets is None:
            aligned[label] = None
            continue
        mine: dict[str, dict] = {}
        pending = []
        for name, item in datasets.items():
            if name in slots:
                mine[name] = {**item, "name": name}
            else:
                pending.append((name, item))
        for name, item in pending:
            free = [(slot, _overlap(slots[slot]["schema"], item["schema"])) for slot in slots
                    if slot not in mine and slot not in datasets and
                    slots[slot]["schema"].get("kind") == item["schema"].get("kind")]
            best = max(free, key=lambda f: f[1], default=(None, 0.0))
            slot = best[0] if best[1] >= 0.5 else name
            mine[slot] = {**item, "name": name}
        slots.update(mine)
        aligned[label] = mine
    return aligned


def _overlap(a: dict, b: dict) -> float:
    ca, cb = set(_columns(a)), set(_columns(b))
    if a.get("kind") != "DataFrame":  # a Series or an array: same name/shape family
        same = a.get("dtype") == b.get("dtype") and (a.get("name") == b.get("name"))
        return 1.0 if same else 0.0
    return len(ca & cb) / len(ca | cb) if ca | cb else 0.0


def _columns(schema: dict) -> list[str]:
    if schema.get("kind") == "DataFrame":
        return list(schema.get("columns") or {})
    if schema.get("kind") == "Series":
        return [schema.get("name") or "value"]
    return ["(array)"]


def _dtype_of(found: dict | None, name: str, column: str) -> str | None:
    if not found or name not in found:
        return None
    schema = found[name]["schema"]
    if schema.get("kind") == "DataFrame":
        return (schema.get("columns") or {}).get(column)
    if column in _columns(schema):
        return schema.get("dtype")
    return None


def _stat_of(found: dict | None, name: str, column: str, stat: str):
    if not found or name not in found:
        return None
    return ((found[name]["stats"] or {}).get(column) or {}).get(stat)


def _data_facet(found: dict | None, name: str, facet: str):
    if not found or name not in found:
        return None
    item = found[name]
    if facet == "shape":
        shape = item["schema"].get("shape")
        return "×".join(str(s) for s in shape) if shape else None
    return item[facet]


def _schema_change(dtypes: list) -> str:
    if not dtypes:
        return ""
    present = [d is not None for d in dtypes]
    if all(present):
        return "" if len(set(dtypes)) == 1 else "dtype changed"
    if present[0]:
        return "removed"
    if any(present):
        return "added"
    return ""


def _tags_text(tags: dict | None) -> str | None:
    return ", ".join(f"{k}={v}" for k, v in tags.items()) if tags else None


def _code_diff(a_label: str, a: str, b_label: str, b: str) -> CodeDiff:
    a_lines, b_lines = a.splitlines(), b.splitlines()
    unified = "".join(line + ("" if line.endswith("\n") else "\n") for line in
                      difflib.unified_diff(a_lines, b_lines, a_label, b_label, lineterm=""))
    rows = []
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            rows.append((tag, i + 1 if i < i2 else None, a_lines[i] if i < i2 else None,
                         j + 1 if j < j2 else None, b_lines[j] if j < j2 else None))
    return CodeDiff(a_label, b_label, unified, tuple(rows))


def _jsonable(value):
    """Plain JSON values: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _frame_rows(frame, labels: list[str], extra: dict[str, str]) -> list[dict]:
    """DataFrame rows as `{<index names>..., "values": {label: v}, <extra>...}`."""
    names = [n or "name" for n in frame.index.names]
    rows = []
    for key, row in frame.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        item = {name: _jsonable(k) for name, k in zip(names, key)}
        item["values"] = {label: _jsonable(row[label]) for label in labels}
        for column, out in extra.items():
            item[out] = _jsonable(row[column])
        rows.append(item)
    return rows


def _delta_rows(frame, labels: list[str]) -> list[dict]:
    rows = []
    for key, row in frame.iterrows():
        rows.append({"name": str(key),
                     "values": {label: _jsonable(row[label]) for label in labels},
                     "delta": {label: _jsonable(row[f"delta {label}"]) for label in labels[1:]},
                     "change": {label: row[f"change {label}"] for label in labels[1:]},
                     "lower_is_better": bool(row["lower_is_better"]),
                     "best": row["best"] or None})
    return rows
