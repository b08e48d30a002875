"""A version's and a run's details as static HTML: facts, where a version lives, metrics
against the production version (champion/challenger), params, lineage (its run and the cells
that produced it), inputs, code, stage history; a run's variables and the versions made from
it; and a reproduction's report. Escaped throughout.
"""

from __future__ import annotations

from html import escape

from .. import render
from ..htmlparts import BAD, FONT, GOOD, MONO, cell, note, pairs_table, section, table

WHERE = {"local": "this registry only (not pushed)", "remote": "on a remote only "
         "(fetched when loaded)", "both": "this registry and a remote"}
_VERDICT_COLORS = {"better": GOOD, "worse": BAD}


def champion_html(version, champion) -> str:
    """This version's recorded metrics against the production version's (the rows are
    `nbmodels.interop.card.champion_rows`, the model card's)."""
    from ..interop.card import champion_rows

    if version.stage == "production":
        return note("This version is the production model (the champion).")
    if champion is None:
        return note("No production version to compare with.")
    rows = []
    for name, mine, theirs, verdict in champion_rows(version, champion):
        color = _VERDICT_COLORS.get(verdict)
        mark = f'<td style="color: {color}">{escape(verdict)}</td>' if color else cell(verdict)
        rows.append(([cell(name), cell(mine), cell(theirs), mark], False))
    return (note(f"Challenger {version.ref} against {champion.ref} in production "
                 "(recorded metrics).")
            + table(["metric", version.version, f"{champion.version} (production)", ""], rows))


def reproduce_html(ref: str, report) -> str:
    """What `Registry.reproduce(ref)` found: the status and each difference."""
    color = GOOD if report.ok else BAD
    head = (f'<div><b>Reproduce {escape(ref)}</b>: <span style="color: {color}; '
            f'font-weight: 600">{escape(report.status)}</span> · {report.duration_s:.1f} s</div>')
    if not report.differences:
        return f'<div class="nbmodels-reproduce" style="{FONT}">{head}</div>'
    rows = [([cell(d.kind), cell(d.name), cell(d.detail, 160), cell(d.recorded), cell(d.now)],
             False) for d in report.differences]
    return (f'<div class="nbmodels-reproduce" style="{FONT}">{head}'
            f'{table(["kind", "name", "detail", "recorded", "now"], rows)}</div>')


def version_details_html(version, run, history: list, lineage=None, location: str | None = None,
                         champion=None) -> str:
    """Everything about one version: facts, where it lives (`location` from
    `list_versions`: local/remote/both, None without remotes), its metrics against
    `champion` (the production version), params, lineage (its run, and the cells that
    produced it when `lineage` is given), inputs, code, stages."""
    facts = [("ref", version.ref), ("stage", version.stage), ("type", version.model_type),
             ("size", f"{version.size} bytes"), ("created", version.created_at),
             ("user", version.user), ("bump", f"{version.bump}: {version.bump_reason}"),
             ("note", version.note), ("tags", version.tags or None),
             ("object", version.object_hash[:16]),
             ("where", WHERE.get(location, location) if location else "this registry (no remotes)")]
    html = [f'<div style="{FONT}"><h4 style="margin: 6px 0">{escape(version.ref)}</h4>',
            pairs_table(facts)]
    html += _values(version.metrics, {})
    html.append(section("Champion / challenger", champion_html(version, champion)))
    html += _values({}, version.params)
    if run is None:
        html.append(note("Lineage: registered without a tracked run."))
    else:
        html.append(section("Lineage", pairs_table(_about_run(run))))
        html += _run_sections(run, lineage)
    if history:
        rows = [([cell(t.at[:19].replace("T", " ")), cell(t.from_stage), cell(t.to_stage),
                  cell(t.user), cell(t.note, 120)], False) for t in history]
        html.append(section("Stage history", table(["at", "from", "to", "user", "note"], rows)))
    html.append("</div>")
    return "".join(html)


def run_details_html(run, versions: list, lineage=None) -> str:
    """Everything about one run: facts, metrics, params, the variables it captured (models
    first), the versions registered from it, and, as a version shows its run, the cells
    that produced it (`lineage`), inputs and code."""
    facts = [*_about_run(run)[1:], ("duration", f"{run.duration_s:.2f} s"), ("user", run.user),
             ("tags", run.tags or None), ("error", run.error)]
    facts = [(k, v) for k, v in facts if v not in (None, "")]  # the heading names the run
    html = [f'<div style="{FONT}"><h4 style="margin: 6px 0">Run {escape(run.id)}</h4>',
            pairs_table(facts)]
    html += _values(run.metrics, run.params)
    if run.variables:
        ordered = sorted(run.variables, key=lambda v: (v.role != "model", v.name))
        rows = [([cell(v.name), cell(v.role), cell(v.type), cell(v.size),
                  cell("stored" if v.object_hash else v.reason or "inline", 120)], False)
                for v in ordered]
        html.append(section(f"Variables ({len(rows)})", table(
            ["variable", "role", "type", "bytes", "stored"], rows)))
    registered = [([cell(v.ref), cell(v.stage), cell(v.variable), cell(v.created_at[:16])], False)
                  for v in versions]
    html.append(section("Registered as", table(["version", "stage", "variable", "created"],
                                               registered) if registered else
                        note("Not registered yet: Register makes a version of its model.")))
    html += _run_sections(run, lineage)
    html.append("</div>")
    return "".join(html)


def _values(metrics: dict, params: dict) -> list[str]:
    """The metrics (open) and params (folded) sections, each only when there are some."""
    html = []
    if metrics:
        html.append(section("Metrics", table(["metric", "value"], [
            ([cell(k), cell(v)], False) for k, v in metrics.items()])))
    if params:
        html.append(section(f"Params ({len(params)})", table(["param", "value"], [
            ([cell(k), cell(v)], False) for k, v in params.items()]), open_=False))
    return html


def _about_run(run) -> list[tuple[str, object]]:
    git = run.git or {}
    return [("run", run.id), ("experiment", run.experiment), ("status", run.status),
            ("started", run.started_at), ("notebook", run.notebook), ("run note", run.note),
            ("git", f"{git.get('commit', '')[:10]} {git.get('branch') or ''}"
             f"{' (dirty)' if git.get('dirty') else ''}" if git else None)]


def _run_sections(run, lineage) -> list[str]:
    """What a version's details and a run's share: the lineage cells, inputs, code."""
    html = []
    if lineage is not None and lineage.cells:
        html.append(section(f"Cells that produced it ({len(lineage.cells)})",
                            render.lineage_html(lineage), open_=False))
    if run.inputs:
        rows = [([cell(i.name), cell(i.type), cell(i.fingerprint[:12]),
                  cell("×".join(str(s) for s in i.schema.get("shape", [])) or None),
                  cell(", ".join(i.schema.get("columns", {}) or []) or None, 120)], False)
                for i in run.inputs]
        html.append(section("Inputs", table(
            ["input", "type", "fingerprint", "shape", "columns"], rows), open_=False))
    html.append(section("Code", f'<pre style="{MONO}; white-space: pre-wrap; margin: 0">'
                                f'{escape(run.source or "")}</pre>', open_=False))
    return html
