"""`nbmodels lineage REF [--json]`: the cells that produced what a run read."""

from __future__ import annotations

from .output import print_json


def add_commands(command) -> None:
    """Add `lineage` to the CLI (see `COMMAND_MODULES`)."""
    command("lineage", "Show the cells, in execution order, that produced what a run (or "
                       "the run of a model version) read, and what makes them doubtful.",
            _lineage).add_argument("ref", help="A run id (or 6+ of its characters) or NAME@VERSION.")


def _lineage(registry, args) -> int:
    lineage = registry.lineage(args.ref)
    if args.json:
        print_json({"run": lineage.run_id,
                    "cells": [cell.to_dict() for cell in lineage.cells],
                    "flags": [flag.to_dict() for flag in lineage.flags]})
        return 0
    print(f"lineage of run {lineage.run_id}: {len(lineage.cells)} cells")
    for cell in lineage.cells:
        count = "?" if cell.execution_count is None else cell.execution_count
        print(f"\nIn [{count}]  binds: {', '.join(cell.binds) or '-'}  "
              f"reads: {', '.join(cell.reads) or '-'}")
        for line in cell.source.splitlines():
            print(f"    {line}")
    for flag in lineage.flags:
        print(f"\n{flag.kind}: {flag.detail}")
    return 0
