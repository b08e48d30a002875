"""Model cards: one version's records as a page an auditor can read, print or file.

`gather(registry, ref)` collects what the registry knows (nothing is deserialized);
`render(card, "html" | "md")` writes it. Every string that came from a user (names, notes,
tags, params, cell code, column names) is escaped: `html.escape` in HTML, and in Markdown
too (Markdown viewers render inline HTML), with table pipes and code fences neutralised.
The HTML is one self-contained page with a print stylesheet: a simple model fits one A4.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import NbModelsError
from ..facts import training_data
from ..records import ModelVersion, Run, Transition
from ..registry.metrics import verdict

TOP_IMPORTANCE = 10
MAX_PARAMS = 60
SIDE_BY_SIDE = 3


@dataclass
class Card:
    """What a card shows, gathered from records."""

    version: ModelVersion
    run: Run | None
    history: list[Transition]
    serializer: str
    python: str | None
    facts: dict
    lineage: Any = None  # a `Lineage` record when the registry records lineage
    data: list[dict] = field(default_factory=list)
    champion: ModelVersion | None = None


def gather(registry, ref: str) -> Card:
    """The card of the version `ref` names."""
    detail = registry.version_detail(ref)
    version, run = detail.version, detail.run
    card = Card(version, run, list(detail.history), registry._serializer(version.object_hash),
                registry._run_python(run), registry._version_facts(version))
    if run is not None and hasattr(registry, "lineage"):
        try:
            card.lineage = registry.lineage(version.ref)
        except NbModelsError:
            card.lineage = None
    card.data = _datasets(run) if run is not None else []
    card.champion = champion_of(registry, version)
    return card


def champion_of(registry, version: ModelVersion) -> ModelVersion | None:
    """The production version `version` challenges; None when it is production itself or
    its model has none."""
    if version.stage == "production":
        return None
    try:
        return registry.get(f"{version.name}@production")
    except NbModelsError:
        return None


def champion_rows(version: ModelVersion, champion: ModelVersion) -> list[tuple]:
    """`(metric, this version's value, the champion's, "better"|"worse"|"same"|"")` for
    each metric recorded with either, direction-aware."""
    names = list(dict.fromkeys([*version.metrics, *champion.metrics]))
    return [(name, version.metrics.get(name), champion.metrics.get(name),
             verdict(name, version.metrics.get(name), champion.metrics.get(name)))
            for name in names]


def _datasets(run: Run) -> list[dict]:
    trained = set(training_data(run))
    found = [{"name": i.name, "type": i.type, "schema": i.schema or {}, "stats": i.stats or {},
              "fingerprint": i.fingerprint, "how": "read"} for i in run.inputs]
    for variable in run.variables:
        data = variable.data if isinstance(variable.data, dict) else {}
        if variable.role == "data" and data:
            found.append({"name": variable.name, "type": variable.type,
                          "schema": data.get("schema") or {}, "stats": data.get("stats") or {},
                          "fingerprint": data.get("fingerprint"), "how": "bound"})
    for dataset in found:
        dataset["trained_on"] = dataset["name"] in trained
    return sorted(found, key=lambda d: (not d["trained_on"], d["name"]))


def render(card: Card, format: str) -> str:
    """The card as HTML or Markdown (`format`: `html` or `md`)."""
    sections = _sections(card)
    return _html(card, sections) if format == "html" else _markdown(card, sections)


# ---- content, shared by both formats ---------------------------------------------------
# A section is (title, [block]); a block is ("table", header, rows), ("code", text),
# ("text", text) or ("pairs", [(key, value)]).

def _sections(card: Card) -> list[tuple[str, list]]:
    version = card.version
    return [s for s in [
        ("Model", [("pairs", _model_pairs(card))]),
        ("Lineage", _lineage_blocks(card)),
        ("Data", _data_blocks(card)),
        (f"Params ({len(version.params)})", [_value_table(("param", "value"), version.params,
                                                          MAX_PARAMS)] if version.params else
         [("text", "No params recorded.")]),
        ("Metrics", [_value_table(("metric", "value"), version.metrics)] if version.metrics
         else [("text", "No metrics recorded.")]),
        ("Champion / challenger", _champion_blocks(card)),
        ("Stage history", _history_blocks(card)),
        ("Environment", _environment_blocks(card)),
        ("Object", [("pairs", [("hash (BLAKE3)", version.object_hash),
                               ("format", card.serializer), ("size", f"{version.size:,} bytes")])]),
    ] if s[1]]


def _model_pairs(card: Card) -> list:
    version, facts = card.version, card.facts
    signature = facts.get("signature") or version.signature or {}
    structure = facts.get("structure") or []
    pairs = [("name", version.name), ("version", version.version), ("stage", version.stage),
             ("type", version.model_type),
             ("inputs", f"{signature.get('n_features')} features" if signature.get("n_features")
              else None),
             ("made of", " → ".join(f"{p or '(model)'}: {c}" for p, c in structure[1:]) or None),
             ("registered", f"{version.created_at[:19].replace('T', ' ')} UTC by {version.user}"),
             ("semver", f"{version.bump}: {version.bump_reason}"), ("note", version.note),
             ("tags", ", ".join(f"{k}={v}" for k, v in version.tags.items()) or None)]
    importance = facts.get("importance") or {}
    if importance:
        top = sorted(importance.items(), key=lambda kv: -abs(kv[1] or 0))[:TOP_IMPORTANCE]
        pairs.append(("top features", ", ".join(f"{k} ({_number(v)})" for k, v in top)))
    return [(k, v) for k, v in pairs if v not in (None, "")]


def _lineage_blocks(card: Card) -> list:
    run = card.run
    if run is None:
        return [("text", "Registered from a live object: no tracked run, no lineage.")]
    git = run.git or {}
    blocks = [("pairs", [(k, v) for k, v in [
        ("run", run.id), ("experiment", run.experiment), ("notebook", run.notebook),
        ("trained", f"{run.started_at[:19].replace('T', ' ')} UTC, {run.duration_s:.1f} s"),
        ("git", f"{git.get('commit', '')[:12]} on {git.get('branch') or '?'}"
                f"{' (uncommitted changes)' if git.get('dirty') else ''}" if git else None),
        ("run note", run.note)] if v])]
    cells = list(getattr(card.lineage, "cells", None) or [])
    flags = list(getattr(card.lineage, "flags", None) or [])
    if len(cells) > 1:
        for cell in cells:
            label = f"In [{cell.execution_count}]" if cell.execution_count is not None else "cell"
            blocks.append(("code", f"# {label}\n{cell.source}"))
    else:
        blocks.append(("code", run.source or ""))
    for flag in flags:
        blocks.append(("text", f"⚠ {flag.kind}: {flag.detail}"))
    return blocks


def _data_blocks(card: Card) -> list:
    if not card.data:
        return [("text", "No data recorded.")]
    blocks = []
    for d in card.data:
        schema = d["schema"]
        shape = " × ".join(str(s) for s in schema.get("shape") or []) or "?"
        role = "trained on" if d["trained_on"] else "also read" if d["how"] == "read" else "also bound"
        blocks.append(("text", f"{d['name']} — {d['type']}, {shape} ({role}; fingerprint "
                               f"{(d['fingerprint'] or '')[:12]})"))
        columns = schema.get("columns") or ({schema["name"]: schema.get("dtype")}
                                             if schema.get("name") else {})
        stats = d["stats"]
        names = list(columns) or list(stats)
        rows = []
        for column in names:
            s = stats.get(str(column)) or {}
            rows.append([column, columns.get(column) or schema.get("dtype"), s.get("count"),
                         s.get("nulls"), *(_number(s.get(k)) for k in ("mean", "std", "min", "max"))])
        if rows:
            blocks.append(("table", ("column", "dtype", "count", "nulls", "mean", "std", "min",
                                     "max"), rows))
    return blocks


def _champion_blocks(card: Card) -> list:
    version, champion = card.version, card.champion
    if version.stage == "production":
        return [("text", "This version is the production model (the champion).")]
    if champion is None:
        return [("text", "No production version to compare with.")]
    rows = [[name, _number(mine), _number(theirs), judged]
            for name, mine, theirs, judged in champion_rows(version, champion)]
    title = f"This version (challenger) against {champion.ref} in production (champion), " \
            "on the metrics recorded with each."
    return [("text", title), ("table", ("metric", version.version, champion.version, ""), rows)]


def _history_blocks(card: Card) -> list:
    if not card.history:
        return [("text", "Never moved from stage none.")]
    rows = [[t.at[:19].replace("T", " "), t.from_stage, t.to_stage, t.user, t.note]
            for t in card.history]
    return [("table", ("at (UTC)", "from", "to", "by", "note"), rows)]


def _environment_blocks(card: Card) -> list:
    run = card.run
    packages = run.packages if run else (card.facts.get("packages") or {})
    pairs = [("python", card.python), ("host", run.host if run else None),
             ("packages", ", ".join(f"{k} {v}" for k, v in sorted(packages.items())) or None)]
    pairs = [(k, v) for k, v in pairs if v]
    return [("pairs", pairs)] if pairs else [("text", "No environment recorded.")]


def _value_table(header: tuple, values: dict, limit: int | None = None) -> tuple:
    """Name/value pairs, side by side in up to `SIDE_BY_SIDE` pairs a row when there are
    many (a forest's 19 params take 7 rows: the card stays on one printed page)."""
    items = list(values.items())
    pairs = [[k, "None" if v is None else _number(v)] for k, v in items[:limit]]
    if limit and len(items) > limit:
        pairs.append(["…", f"{len(items) - limit} more"])
    across = SIDE_BY_SIDE if len(pairs) > 8 else 1
    down = -(-len(pairs) // across)
    rows = [sum((pairs[i + down * j] if i + down * j < len(pairs) else ["", ""]
                 for j in range(across)), []) for i in range(down)]
    return ("table", header * across, rows)


def _number(value) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return value


def _text(value) -> str:
    return "" if value is None else str(value)


# ---- HTML ------------------------------------------------------------------------------

_STYLE = """
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       max-width: 60em; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 20px; margin: 0 0 2px; } h2 { font-size: 14px; margin: 14px 0 4px;
     border-bottom: 1px solid #d0d7de; padding-bottom: 2px; }
.sub { color: #59636e; margin-bottom: 8px; }
table { border-collapse: collapse; margin: 2px 0 6px; }
td, th { border: 1px solid #d0d7de; padding: 1px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } table.pairs td:first-child { color: #59636e; white-space: nowrap; }
pre { background: #f6f8fa; padding: 6px 8px; margin: 4px 0; white-space: pre-wrap;
      font: 11.5px/1.35 ui-monospace, Menlo, Consolas, monospace; }
.stage { display: inline-block; padding: 0 6px; border-radius: 8px; background: #ddf4ff; }
.better { color: #1a7f37; } .worse { color: #cf222e; }
.hash { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { font-size: 9px; line-height: 1.25; margin: 0; max-width: none; padding: 0; }
  h1 { font-size: 15px; } h2 { font-size: 11px; margin: 6px 0 2px; break-after: avoid; }
  p { margin: 2px 0; } table { margin: 1px 0 3px; } td, th { padding: 0 4px; }
  table, pre { break-inside: avoid; } .sub { margin-bottom: 2px; }
  pre { font-size: 8px; padding: 3px 5px; margin: 2px 0; }
  th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _html(card: Card, sections: list) -> str:
    version = card.version
    esc = html.escape
    body = [f"<h1>{esc(version.ref)} <span class=\"stage\">{esc(version.stage)}</span></h1>",
            f'<div class="sub">Model card · {esc(version.model_type)}</div>']
    for title, blocks in sections:
        body.append(f"<h2>{esc(title)}</h2>")
        body.extend(_html_block(block) for block in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Model card: {esc(version.ref)}</title><style>{_STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def _html_block(block: tuple) -> str:
    esc = html.escape
    kind = block[0]
    if kind == "text":
        return f"<p>{esc(_text(block[1]))}</p>"
    if kind == "code":
        return f"<pre>{esc(block[1])}</pre>"
    if kind == "pairs":
        rows = "".join(f'<tr><td>{esc(k)}</td><td{_class_for(k)}>{esc(_text(v))}</td></tr>'
                       for k, v in block[1])
        return f'<table class="pairs">{rows}</table>'
    header = "".join(f"<th>{esc(_text(h))}</th>" for h in block[1])
    rows = "".join("<tr>" + "".join(f"<td{_class_for(c)}>{esc(_text(c))}</td>" for c in row)
                   + "</tr>" for row in block[2])
    return f"<table><tr>{header}</tr>{rows}</table>"


def _class_for(value) -> str:
    if value in ("better", "worse"):
        return f' class="{value}"'
    return ' class="hash"' if value == "hash (BLAKE3)" else ""


# ---- Markdown --------------------------------------------------------------------------

def _markdown(card: Card, sections: list) -> str:
    version = card.version
    lines = [f"# Model card: {_md(version.ref)} ({_md(version.stage)})", "",
             f"*{_md(version.model_type)}*", ""]
    for title, blocks in sections:
        lines += [f"## {_md(title)}", ""]
        for block in blocks:
            lines += _md_block(block) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _md_block(block: tuple) -> list[str]:
    kind = block[0]
    if kind == "text":
        return [_md(block[1])]
    if kind == "code":
        fence = "`" * max(3, _longest_run(block[1], "`") + 1)
        return [f"{fence}python", block[1].rstrip("\n"), fence]
    if kind == "pairs":
        header, rows = ("", ""), [list(pair) for pair in block[1]]
    else:
        header, rows = block[1], block[2]
    return ["| " + " | ".join(_md_cell(h) for h in header) + " |",
            "|" + " --- |" * len(header),
            *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)]


def _md(value) -> str:
    """Text for Markdown: HTML escaped (viewers render inline HTML), and the characters
    that would start emphasis, links or code shown as themselves."""
    text = html.escape(_text(value))
    for char in "\\`*_[]#|":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def _md_cell(value) -> str:
    return _md(value).replace("\r", " ")


def _longest_run(text: str, char: str) -> int:
    longest = current = 0
    for c in text:
        current = current + 1 if c == char else 0
        longest = max(longest, current)
    return longest
