"""What is compared: a `Target` (a run, or a version with its run) and the code diff
between two of them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..records import ModelVersion, Run


MODEL_FIELDS = ("kind", "name", "version", "stage", "run_id", "experiment", "model_type",
                 "size", "created_at", "user", "bump", "note", "tags", "object_hash")


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
                    "tags": tags_text(version.tags), "object_hash": version.object_hash[:12]}
        models = run.models
        return {"kind": "run", "name": None, "version": None, "stage": None, "run_id": run.id,
                "experiment": run.experiment,
                "model_type": ", ".join(m.type for m in models) or None,
                "size": sum(m.size or 0 for m in models) if models else None,
                "created_at": run.started_at, "user": run.user, "bump": None, "note": run.note,
                "tags": tags_text(run.tags),
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


def code_diff(a_label: str, a: str, b_label: str, b: str) -> CodeDiff:
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


def tags_text(tags: dict | None) -> str | None:
    return ", ".join(f"{k}={v}" for k, v in tags.items()) if tags else None
