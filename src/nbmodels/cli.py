"""`nbmodels [--home PATH] COMMAND`: the registry from a shell or a CI/CD pipeline.

Every command makes one `Registry` call and prints it, as a table or with `--json` as the
records' own JSON. Exit status: 0 success, 1 a user error (one line on stderr, also for a
damaged or read-only registry), 2 `verify` found damage (or `backup` could not copy an
object).
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from .errors import NbModelsError
from .jsoncodec import dumps_strict

EXIT_USER_ERROR = 1
EXIT_DAMAGE = 2
RUN_KEYS = ["id", "experiment", "status", "started_at", "ended_at", "duration_s", "user",
            "notebook", "note", "params", "metrics", "tags"]
VERSION_KEYS = ["name", "version", "stage", "run_id", "created_at", "user", "bump",
                "bump_reason", "note", "model_type", "size", "object_hash", "params",
                "metrics", "tags"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 1, never argparse's usage dump + exit 2
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nbmodels", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="Registry folder (default: $NBMODELS_HOME, else the "
                                       "nearest .nbmodels/ above the working directory).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="Print JSON for machines.")
        return sub

    command("runs", "List runs, newest first.").add_argument(
        "--experiment", help="Only the runs of this experiment.")
    command("models", "List registered models.")
    command("versions", "List the versions of a model, oldest first.").add_argument("name")
    command("show", "Show one run or model version in full.").add_argument("ref")
    diff = command("diff", "Compare two runs or versions.")
    diff.add_argument("ref_a")
    diff.add_argument("ref_b")
    stage = command("stage", "Move a version to another stage.")
    stage.add_argument("ref")
    stage.add_argument("stage", help="none, staging, production or archived")
    stage.add_argument("--note", help="Why: kept in the audit trail.")
    command("history", "Show the stage changes of a model (audit trail).").add_argument("name")
    command("gc", "Remove unreferenced objects and leftover temp files.").add_argument(
        "--dry-run", action="store_true", help="Only list what would be removed.")
    command("verify", "Check the database, every object's hash and every row's object; "
                      "exit 2 on damage.")
    backup = command("backup", "Copy the registry (database and objects, hash-checked) into a "
                               "new folder, consistently while kernels write; exit 2 when an "
                               "object could not be copied.")
    backup.add_argument("dest", help="A new (or empty) folder: the copy is a registry.")
    backup.add_argument("--link", action="store_true",
                        help="Hard-link objects instead of copying them when on the same disk.")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; what it prints reaches the terminal with control characters
    escaped (a note holding `ESC]0;...BEL` is shown as `\\x1b]0;...\\x07`, not obeyed)."""
    with contextlib.redirect_stdout(_Escaping(sys.stdout)), \
            contextlib.redirect_stderr(_Escaping(sys.stderr)):
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        from .registry import Registry

        return _COMMANDS[args.command](Registry(args.home), args)
    except (NbModelsError, _UsageError) as exc:
        message = f"nbmodels: error: {exc}" if isinstance(exc, NbModelsError) else str(exc)
        # one line, whatever the input it quotes (argparse quotes arguments raw)
        print(message.replace("\n", "\\n"), file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `nbmodels runs | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


def _runs(registry, args) -> int:
    runs = [_pick(r.to_dict(), RUN_KEYS) for r in registry.list_runs(args.experiment)]
    return _emit(args, runs, ["id", "experiment", "status", "started_at", "metrics"])


def _models(registry, args) -> int:
    models = [m.to_dict() for m in registry.list_models()]
    return _emit(args, models, ["name", "versions", "latest_version", "production_version",
                                "updated_at"])


def _versions(registry, args) -> int:
    versions = [_pick(v.to_dict(), VERSION_KEYS) for v in registry.list_versions(args.name)]
    return _emit(args, versions, ["version", "stage", "bump", "bump_reason", "created_at",
                                  "metrics"])


def _show(registry, args) -> int:
    record = registry.resolve(args.ref).to_dict()
    if args.json:
        _print_json(record)
    else:
        for key, value in record.items():
            if key in ("source",):
                print(f"{key}:\n{value}")
            elif key not in ("variables", "inputs") or value:
                print(f"{key}: {_cell(value, 200)}")
    return 0


def _diff(registry, args) -> int:
    comparison = registry.compare(args.ref_a, args.ref_b)
    if args.json:
        _print_json(comparison.to_dict())
    else:
        print(comparison.to_text())
    return 0


def _stage(registry, args) -> int:
    version = registry.set_stage(args.ref, args.stage, note=args.note)
    if args.json:
        _print_json(_pick(version.to_dict(), VERSION_KEYS))
    else:
        print(f"{version.ref} is now {version.stage}")
    return 0


def _history(registry, args) -> int:
    rows = [t.to_dict() for t in registry.transitions(args.name)]
    return _emit(args, rows, ["version", "from_stage", "to_stage", "user", "at", "note"])


def _gc(registry, args) -> int:
    report = registry.gc(dry_run=args.dry_run)
    if args.json:
        _print_json(report.to_dict())
    else:
        print("\n".join(report.lines()))
        for digest in report.objects:
            print(f"  {digest}")
    return 0


def _verify(registry, args) -> int:
    report = registry.verify()
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"checked {report.checked_objects} objects and {report.checked_rows} rows: "
              + ("ok" if report.ok else f"{len(report.damage)} damaged"))
        for damage in report.damage:
            print(f"  {damage.kind}: {damage.what}: {damage.detail}")
    return 0 if report.ok else EXIT_DAMAGE


def _backup(registry, args) -> int:
    report = registry.backup(args.dest, link=args.link)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"backed up {report.runs} runs, {report.versions} versions and {report.objects} "
              f"objects ({report.bytes} bytes) to {report.dest}"
              + ("" if report.ok else f": {len(report.damage)} objects not copied"))
        for damage in report.damage:
            print(f"  {damage.kind}: {damage.what}: {damage.detail}")
    return 0 if report.ok else EXIT_DAMAGE


_COMMANDS = {"runs": _runs, "models": _models, "versions": _versions, "show": _show,
             "diff": _diff, "stage": _stage, "history": _history, "gc": _gc, "verify": _verify,
             "backup": _backup}


# C0 and C1 controls but tab and newline, and the Unicode line separators and bidi
# overrides that reorder what a terminal shows: escaped, so they are seen and not obeyed.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))
             if c not in (0x09, 0x0A)}
_CONTROLS.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
                                               *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def terminal_text(text: str) -> str:
    """`text` with every control character escaped (see `_CONTROLS`)."""
    return text.translate(_CONTROLS)


class _Escaping:
    """A text stream that escapes control characters on their way to another."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal_text(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _pick(record: dict, keys: list[str]) -> dict:
    return {k: record.get(k) for k in keys}


def _emit(args, rows: list[dict], columns: list[str]) -> int:
    if args.json:
        _print_json(rows)
    elif not rows:
        print("(none)")
    else:
        _print_table(rows, columns)
    return 0


def _print_json(value) -> None:
    print(dumps_strict(value, indent=2))  # NaN and infinities as null: strict JSON


def _print_table(rows: list[dict], columns: list[str]) -> None:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _cell(value, limit: int = 60) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        value = ", ".join(f"{k}={_number(v)}" for k, v in value.items())
    text = _number(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
