"""`%reproduce REF [--from-inputs | --from-scratch]`: re-run a recorded run in a scratch
namespace (never the kernel's) and show whether it came out `exact`, `equivalent` or what
`differs`."""

from __future__ import annotations

import html

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .. import api
from .base import RegistryMagics, user_errors
from .parsing import parse

_COLORS = {"exact": "#2e7d32", "equivalent": "#1565c0", "differs": "#c62828"}


@magics_class
class ReproduceMagics(RegistryMagics):

    @magic_arguments()
    @argument("ref", nargs="?", metavar="REF",
              help="A run id (or 6+ of its characters) or NAME@VERSION. Default: the last "
                   "tracked run.")
    @argument("--from-inputs", action="store_true",
              help="Re-run the tracked cell on its stored inputs (the default).")
    @argument("--from-scratch", action="store_true",
              help="Re-run the whole lineage, from its first cell (reads the data files "
                   "again).")
    @line_magic
    @user_errors
    def reproduce(self, line):
        """Re-run a run in a scratch namespace and compare the result with the record:
        exact (same model bytes), equivalent (same predictions and metrics) or differs
        (with what differs: params, data, package versions, unseeded randomness). The
        kernel's variables are neither read nor changed.

        Example::

            %reproduce breast-cancer@1.0.0 --from-scratch
        """
        args = parse(ReproduceMagics.reproduce, line)
        if args.from_inputs and args.from_scratch:
            raise UsageError("%reproduce: use one of --from-inputs and --from-scratch")
        ref = args.ref or api.session.last_run_id
        if ref is None:
            raise UsageError("%reproduce needs a REF: no run was tracked in this kernel yet")
        from ..progress import Bar

        with Bar(f"reproduce {ref}", unit="step") as bar:
            report = self.registry.reproduce(ref, "scratch" if args.from_scratch else "inputs",
                                             progress=bar)
        _display_report(report)


def _display_report(report) -> None:
    from IPython.display import display

    lines = report.lines()
    color = _COLORS[report.status]
    head, rest = html.escape(lines[0]), lines[1:]
    status = html.escape(report.status)
    head = head[: -len(status)] + f'<b style="color:{color}">{status}</b>'
    body = "".join(f"<div>{html.escape(line)}</div>" for line in rest)
    page = (f'<div class="nbmodels-reproduce" style="font-family: var(--jp-code-font-family, '
            f'monospace); font-size: 12px; border-left: 3px solid {color}; padding: 4px 8px; '
            f'white-space: pre-wrap"><div>{head}</div>{body}</div>')
    display({"text/html": page, "text/plain": "\n".join(lines)}, raw=True)
