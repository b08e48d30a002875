"""Cell output of the magics: HTML with a plain-text fallback, every user string escaped."""

from __future__ import annotations

from html import escape

_BOX = ("font-family: var(--jp-code-font-family, monospace); font-size: 12px; "
        "border-left: 3px solid var(--jp-brand-color1, #1976d2); padding: 4px 8px; margin: 2px 0")


def _display(html: str, text: str) -> None:
    from IPython.display import display

    display({"text/html": html, "text/plain": text}, raw=True)


def display_text(text: str) -> None:
    _display(f'<div style="{_BOX}">{escape(text)}</div>', text)


def _pairs(values: dict, limit: int = 8) -> str:
    items = [f"{k}={_fmt(v)}" for k, v in list(values.items())[:limit]]
    return ", ".join(items) + (f", … (+{len(values) - limit})" if len(values) > limit else "")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _size(nbytes: int | None) -> str:
    if nbytes is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return ""


def run_summary_lines(run) -> list[tuple[str, str]]:
    """(label, text) lines of the block shown under a tracked cell."""
    lines = [("run", f"{run.id} · {run.experiment} · {run.status} · {run.duration_s:.2f}s")]
    models = [f"{v.name} ({v.type.rsplit('.', 1)[-1]}, {_size(v.size)})" for v in run.models]
    if models:
        lines.append(("model", ", ".join(models)))
    if run.params:
        lines.append(("params", _pairs(run.params)))
    if run.metrics:
        lines.append(("metrics", _pairs(run.metrics)))
    if run.inputs:
        lines.append(("inputs", ", ".join(
            f"{i.name} {i.fingerprint[:8]}" for i in run.inputs)))
    skipped = [f"{v.name} ({v.reason})" for v in run.variables if not v.captured]
    if skipped:
        lines.append(("not captured", "; ".join(skipped)))
    return lines


def display_run_summary(run) -> None:
    lines = run_summary_lines(run)
    text = "\n".join(f"{label}: {value}" for label, value in lines)
    rows = "".join(f"<div><b>{escape(label)}</b> {escape(value)}</div>" for label, value in lines)
    _display(f'<div class="nbmodels-run" style="{_BOX}">{rows}</div>', "nbmodels " + text)


def display_restored(ref: str, names: list[str], replaced: list[str],
                      skipped: dict[str, str]) -> None:
    """What `%restore --all` bound, which kernel variables it replaced, what it could not."""
    lines = [f"Restored {len(names)} variables from {ref}: {', '.join(names) or 'none'}"]
    if replaced:
        lines.append(f"replaced kernel variables: {', '.join(replaced)}")
    if skipped:
        lines.append("not restored: " + "; ".join(f"{name} ({reason})"
                                                  for name, reason in sorted(skipped.items())))
    text = "\n".join(lines)
    _display(f'<div style="{_BOX}">' + "".join(f"<div>{escape(line)}</div>" for line in lines)
             + "</div>", text)


def display_registration(version, var: str) -> None:
    if version.created:
        text = (f"Registered {var} as {version.ref} ({version.bump}: {version.bump_reason})"
                + (f" · stage {version.stage}" if version.stage != "none" else ""))
    else:
        text = f"{var} is already {version.ref} (same bytes): no new version"
    display_text(text)


def lineage_lines(lineage) -> list[str]:
    """A run's lineage as text: each cell with what it binds and reads, then the flags."""
    lines = [f"lineage of run {lineage.run_id}: {len(lineage.cells)} cells"]
    for cell in lineage.cells:
        lines += [f"In [{_count(cell)}]  {_names(cell)}",
                  *("    " + line for line in cell.source.splitlines())]
    return lines + [f"{flag.kind}: {flag.detail}" for flag in lineage.flags]


def lineage_html(lineage) -> str:
    """A run's lineage as HTML (every cell source, name and flag escaped)."""
    cells = "".join(f'<div style="margin-top:6px"><b>In [{_count(cell)}]</b> '
                    f'<span style="opacity:.7">{escape(_names(cell))}</span>'
                    f'<pre style="margin:2px 0 0 0; white-space: pre-wrap">'
                    f'{escape(cell.source)}</pre></div>' for cell in lineage.cells)
    flags = "".join(f'<li><b>{escape(flag.kind)}</b>: {escape(flag.detail)}</li>'
                    for flag in lineage.flags)
    return (f'<div class="nbmodels-lineage"><div><b>lineage</b> of run '
            f'<code>{escape(lineage.run_id)}</code>: {len(lineage.cells)} cells</div>'
            + cells + (f"<ul>{flags}</ul>" if flags else "") + "</div>")


def display_lineage(lineage) -> None:
    _display(lineage_html(lineage), "\n".join(lineage_lines(lineage)))


def _count(cell) -> str:
    return "?" if cell.execution_count is None else str(cell.execution_count)


def _names(cell) -> str:
    return f"binds: {', '.join(cell.binds) or '-'} · reads: {', '.join(cell.reads) or '-'}"
