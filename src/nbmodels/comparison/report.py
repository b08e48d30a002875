"""`Comparison`: what changed between runs/versions, as DataFrames computed on first use."""

from __future__ import annotations

import math
import warnings
from functools import cached_property
from typing import Any

from ..errors import InvalidInputError, NbModelsError
from .datasets import align_datasets, data_facet, dtype_of, schema_change, schema_columns, stat_of
from .frames import (BETTER, MISSING, WORSE, all_same, changed_frame, delta_frame, label_frame,
                     none_if_missing)
from .output import comparison_dict, comparison_text
from .scoring import disagreement, score_model
from .targets import MODEL_FIELDS, CodeDiff, Target, code_diff


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
      importance changed (as recorded with each model: nothing is loaded).
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
        from .html import comparison_html

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
        rows = {k: [t.params.get(k, MISSING) for t in self.targets] for k in keys}
        frame = pd.DataFrame({label: pd.Series([none_if_missing(rows[k][i]) for k in keys],
                                               index=keys, dtype=object)
                              for i, label in enumerate(self.labels)}, index=keys, dtype=object)
        frame["changed"] = pd.Series([not all_same(rows[k]) for k in keys], index=keys,
                                     dtype=bool)
        frame.index.name = "param"
        return frame

    @cached_property
    def metrics(self):
        values = {k: [t.metrics.get(k) for t in self.targets]
                  for k in dict.fromkeys(k for t in self.targets for k in t.metrics)}
        return delta_frame(values, self.labels, "metric")

    # ---- code ---------------------------------------------------------------------------

    @property
    def sources(self) -> dict[str, str | None]:
        return {t.label: t.source for t in self.targets}

    @cached_property
    def code_diffs(self) -> list[CodeDiff]:
        with_code = [t for t in self.targets if t.source is not None]
        return [code_diff(a.label, a.source, b.label, b.source)
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
                                  for name, d in found.items()
                                  for col in schema_columns(d["schema"])))
        cells = {key: [dtype_of(sets[t.label], *key) for t in self.targets] for key in keys}
        known = self._known(sets)
        frame = label_frame(self.labels, keys, cells, ("input", "column"))
        frame["change"] = pd.Series([schema_change([cells[k][i] for i in known]) for k in keys],
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
                            cells[key] = [stat_of(sets[t.label], *key) for t in self.targets]
        return changed_frame(self.labels, keys, cells, ("input", "column", "stat"),
                              self._known(sets))

    @cached_property
    def inputs(self):
        sets = self._datasets
        names = list(dict.fromkeys(n for found in sets.values() if found for n in found))
        keys = [(name, facet) for name in names
                for facet in ("name", "fingerprint", "type", "shape")]
        cells = {(name, facet): [data_facet(sets[t.label], name, facet) for t in self.targets]
                 for name, facet in keys}
        return changed_frame(self.labels, keys, cells, ("input", "field"), self._known(sets))

    @cached_property
    def _datasets(self) -> dict[str, dict | None]:
        return align_datasets([(t.label, t.datasets) for t in self.targets])

    def _known(self, by_label: dict) -> list[int]:
        return [i for i, t in enumerate(self.targets) if by_label[t.label] is not None]

    @cached_property
    def env(self):
        packages = {t.label: t.packages for t in self.targets}
        names = sorted(dict.fromkeys(p for found in packages.values() if found for p in found))
        cells = {p: [(packages[t.label] or {}).get(p) for t in self.targets] for p in names}
        known = self._known(packages)
        differing = [p for p in names if not all_same([cells[p][i] for i in known])]
        return label_frame(self.labels, differing, cells, "package")

    @cached_property
    def models(self):
        import pandas as pd

        facts = [t.facts() for t in self.targets]
        cells = {f: [fact[f] for fact in facts] for f in MODEL_FIELDS}
        frame = label_frame(self.labels, list(MODEL_FIELDS), cells, "field")
        frame["changed"] = pd.Series([not all_same(cells[f]) for f in MODEL_FIELDS],
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
        value) and rows sorted by how much it changed. Empty when no model exposes any.
        Read from what was recorded when each model was captured or registered: no model is
        loaded (deserializing runs code; only `on=` does that)."""
        import pandas as pd

        found: dict[str, dict] = {}
        for target in self.targets:
            try:
                if self.registry is None:
                    raise InvalidInputError("this comparison has no registry")
                values = self.registry.recorded_importance(target.version or target.run)
            except NbModelsError as exc:
                self._warn(f"{target.label}: no importance ({exc})")
                continue
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
            try:
                scored, predicted = score_model(model, X, y_true, label=target.label)
            except InvalidInputError:
                raise
            except (TypeError, ValueError) as exc:  # data this model cannot predict on
                detail = (str(exc).strip().splitlines() or [""])[0]
                raise InvalidInputError(f"{target.label}: cannot score on the given data: "
                                        f"{type(exc).__name__}: {detail}") from None
            predictions[target.label] = predicted
            for metric, value in scored.items():
                values.setdefault(metric, [None] * len(self.targets))[i] = value
        first = predictions[self.labels[0]]
        self.disagreement = {label: disagreement(first, pred)
                             for label, pred in predictions.items()}
        values["disagreement"] = [self.disagreement[label] for label in self.labels]
        self.scores = delta_frame(values, self.labels, "metric", unmarked={"disagreement"})
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
        return comparison_dict(self, importance)

    def to_text(self, width: int = 100) -> str:
        """A plain-text report (the CLI's `nbmodels diff`): models, metrics, changed params,
        code diff, data schema changes, package changes."""
        return comparison_text(self, width)
