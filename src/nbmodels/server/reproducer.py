"""`python -m nbmodels.server.reproducer HOME REF MODE OUT`: `Registry.reproduce(REF, MODE)`
in a process of its own, for the REST server's `POST /nbmodels/api/reproduce`.

A re-run executes the run's cells: they must not run inside the Jupyter server (they may
import heavy libraries, print, change the working directory or crash the process). The
result goes to the file OUT, never to stdout (the cells may print): `{"report":
ReproduceReport}` or `{"error": {"type", "message"}}` for a registry error.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    """Reproduce, write the JSON result to OUT; exit 0 when a result was written."""
    from ..errors import NbModelsError
    from ..jsoncodec import strict
    from ..registry import Registry

    home, ref, mode, out = argv if argv is not None else sys.argv[1:]
    registry = Registry(home)
    try:
        result = {"report": registry.reproduce(ref, mode).to_dict()}
    except NbModelsError as error:
        result = {"error": {"type": type(error).__name__, "message": str(error)}}
    finally:
        registry.close()
    with open(out, "w", encoding="utf-8") as file:
        json.dump(strict(result), file, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
