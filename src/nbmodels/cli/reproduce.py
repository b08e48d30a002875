"""`nbmodels reproduce REF [--from-scratch] [--json]`: re-run a recorded run in this (fresh)
process and compare the result with the record. Exit status 3 when it `differs`, so a
CI/CD pipeline can gate on it."""

from __future__ import annotations

from .output import print_json

EXIT_DIFFERS = 3


def add_commands(command) -> None:
    """Add `reproduce` to the CLI (see `COMMAND_MODULES`)."""
    sub = command("reproduce", "Re-run a run (or the run of a model version) in a scratch "
                               "namespace and compare it with the record: exact, equivalent "
                               "or differs (exit 3).", _reproduce)
    sub.add_argument("ref", help="A run id (or 6+ of its characters) or NAME@VERSION.")
    how = sub.add_mutually_exclusive_group()
    how.add_argument("--from-inputs", action="store_true",
                     help="Re-run the tracked cell on its stored inputs (the default).")
    how.add_argument("--from-scratch", action="store_true",
                     help="Re-run the whole lineage from its first cell (reads data files).")


def _reproduce(registry, args) -> int:
    report = registry.reproduce(args.ref, "scratch" if args.from_scratch else "inputs")
    if args.json:
        found = report.to_dict()
        print_json({"status": found.pop("status"), "differences": found.pop("differences"),
                    **found})
    else:
        print("\n".join(report.lines()))
    return EXIT_DIFFERS if report.status == "differs" else 0
