"""`nbmodels [--home PATH] COMMAND`: the registry from a shell or a CI/CD pipeline.

Every command makes one `Registry` call and prints it, as a table or with `--json` as the
records' own JSON. Exit status: 0 success, 1 a user error (one line on stderr, also for a
damaged or read-only registry), 2 `verify` found damage (or `backup` could not copy an
object).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from ..errors import NbModelsError
from .output import Escaping, cell_text, emit, pick, print_json, terminal_text  # noqa: F401

# Modules of this package that add commands: each has `add_commands(command)`, where
# `command(name, help, handler)` returns the argparse subparser (with `--json`) and
# `handler(registry, args) -> exit status` runs it.
COMMAND_MODULES: tuple[str, ...] = ("lineage", "reproduce", "remotes", "interop")
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

    def command(name, help_text, handler=None):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="Print JSON for machines.")
        sub.set_defaults(handler=handler or _COMMANDS[name])
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
    for module in COMMAND_MODULES:
        importlib.import_module(f".{module}", __package__).add_commands(command)
    return parser


def command_names() -> list[str]:
    """Every command `nbmodels` takes."""
    return sorted(build_parser()._subparsers._group_actions[0].choices)


def main(argv: list[str] | None = None) -> int:
    """Run one command; what it prints reaches the terminal with control characters
    escaped (a note holding `ESC]0;...BEL` is shown as `\\x1b]0;...\\x07`, not obeyed)."""
    with contextlib.redirect_stdout(Escaping(sys.stdout)), \
            contextlib.redirect_stderr(Escaping(sys.stderr)):
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        from ..registry import Registry

        return args.handler(Registry(args.home), args)
    except (NbModelsError, _UsageError) as exc:
        message = f"nbmodels: error: {exc}" if isinstance(exc, NbModelsError) else str(exc)
        # one line, whatever the input it quotes (argparse quotes arguments raw)
        print(message.replace("\n", "\\n"), file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `nbmodels runs | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


def _runs(registry, args) -> int:
    runs = [pick(r.to_dict(), RUN_KEYS) for r in registry.list_runs(args.experiment)]
    return emit(args, runs, ["id", "experiment", "status", "started_at", "metrics"])


def _models(registry, args) -> int:
    models = [m.to_dict() for m in registry.list_models()]
    return emit(args, models, ["name", "versions", "latest_version", "production_version",
                                "updated_at"])


def _versions(registry, args) -> int:
    versions = [pick(v.to_dict(), VERSION_KEYS) for v in registry.list_versions(args.name)]
    return emit(args, versions, ["version", "stage", "bump", "bump_reason", "created_at",
                                  "metrics"])


def _show(registry, args) -> int:
    record = registry.resolve(args.ref).to_dict()
    if args.json:
        print_json(record)
    else:
        for key, value in record.items():
            if key in ("source",):
                print(f"{key}:\n{value}")
            elif key not in ("variables", "inputs") or value:
                print(f"{key}: {cell_text(value, 200)}")
    return 0


def _diff(registry, args) -> int:
    comparison = registry.compare(args.ref_a, args.ref_b)
    if args.json:
        print_json(comparison.to_dict())
    else:
        print(comparison.to_text())
    return 0


def _stage(registry, args) -> int:
    version = registry.set_stage(args.ref, args.stage, note=args.note)
    if args.json:
        print_json(pick(version.to_dict(), VERSION_KEYS))
    else:
        print(f"{version.ref} is now {version.stage}")
    return 0


def _history(registry, args) -> int:
    rows = [t.to_dict() for t in registry.transitions(args.name)]
    return emit(args, rows, ["version", "from_stage", "to_stage", "user", "at", "note"])


def _gc(registry, args) -> int:
    report = registry.gc(dry_run=args.dry_run)
    if args.json:
        print_json(report.to_dict())
    else:
        print("\n".join(report.lines()))
        for digest in report.objects:
            print(f"  {digest}")
    return 0


def _verify(registry, args) -> int:
    report = registry.verify()
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"checked {report.checked_objects} objects and {report.checked_rows} rows: "
              + ("ok" if report.ok else f"{len(report.damage)} damaged"))
        for damage in report.damage:
            print(f"  {damage.kind}: {damage.what}: {damage.detail}")
    return 0 if report.ok else EXIT_DAMAGE


def _backup(registry, args) -> int:
    report = registry.backup(args.dest, link=args.link)
    if args.json:
        print_json(report.to_dict())
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


