"""Scenario 4: `%%track` overhead on a trivial cell; `%load_ext nbmodels` in a fresh kernel
process vs `import mlflow` in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

from common import Measure, interleave, run_cell

LOAD_EXT = """
import json, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
start = time.perf_counter()
ip.run_line_magic("load_ext", "nbmodels")
elapsed = time.perf_counter() - start
import sys
heavy = sorted(m for m in ("pandas", "sqlite_utils", "ipywidgets", "sklearn", "mlflow") if m in sys.modules)
print(json.dumps({"elapsed": elapsed, "heavy": heavy}))
"""

IMPORT_MLFLOW = """
import json, time
start = time.perf_counter()
import mlflow
print(json.dumps({"elapsed": time.perf_counter() - start}))
"""

IMPORT_IPYTHON = """
import json, time
start = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
print(json.dumps({"elapsed": time.perf_counter() - start}))
"""


def _fresh(code: str, cwd) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(opts, results, ip, cwd) -> None:
    scenario = "4-overhead"
    print(f"\n[{scenario}] %%track on `x = 1`; %load_ext in a fresh process")
    counter = iter(range(10**6))
    cases = {"untracked": lambda: run_cell(ip, f"x = {next(counter)}"),
             "tracked": lambda: run_cell(ip, f"%%track trivial\nx = {next(counter)}")}
    # After a pause (settle: ~0.1 s idle, as between a user's cells) the first system call
    # and the first touch of memory cost more than back to back; both are reported.
    samples = interleave(cases, opts.repeat * 4)
    overhead = [t - u for t, u in zip(samples["tracked"], samples["untracked"])]
    results.add(Measure(scenario, "cell `x = 1` untracked", "nbmodels", samples["untracked"]))
    results.add(Measure(scenario, "cell `%%track` + `x = 1`", "nbmodels", samples["tracked"]))
    nb = results.add(Measure(scenario, "%%track overhead (tracked − untracked)", "nbmodels", overhead))
    results.target(scenario, "trivial tracked cell overhead", nb.median, 0.001)
    samples = interleave(cases, opts.repeat * 8, warmup=4, pause=False)
    overhead = [t - u for t, u in zip(samples["tracked"], samples["untracked"])]
    results.add(Measure(scenario, "%%track overhead, cells back to back (no pause)", "nbmodels",
                        overhead))

    heavy = {}

    def load_ext():
        found = _fresh(LOAD_EXT, cwd)
        heavy["modules"] = found["heavy"]
        return found["elapsed"]

    cases = {"load_ext": load_ext, "ipython": lambda: _fresh(IMPORT_IPYTHON, cwd)["elapsed"]}
    if opts.mlflow:
        cases["mlflow"] = lambda: _fresh(IMPORT_MLFLOW, cwd)["elapsed"]
    samples = interleave(cases, max(opts.repeat, 3) if not opts.quick else 1)
    load = results.add(Measure(scenario, "%load_ext nbmodels, fresh kernel process", "nbmodels",
                               samples["load_ext"],
                               note=f"heavy modules loaded: {', '.join(heavy['modules']) or 'none'}"))
    results.add(Measure(scenario, "start InteractiveShell, fresh process (context)", "baseline",
                        samples["ipython"]))
    if opts.mlflow:
        mlflow = results.add(Measure(scenario, "import mlflow, fresh process", "mlflow-default",
                                     samples["mlflow"]))
        results.target(scenario, "import mlflow / %load_ext nbmodels", mlflow.median / load.median,
                       1.0, "min", "x")
    results.target(scenario, "%load_ext nbmodels", load.median, 0.200)
