"""Scenario 7: peak RSS of a fresh kernel process tracking a 1 GB object, minus the object.

The process builds the object, resets the kernel's RSS high-water mark
(/proc/self/clear_refs = 5), runs the tracked cell, and reports VmHWM - VmRSS before."""

from __future__ import annotations

import json
import subprocess
import sys

from common import MIB, Measure

SCRIPT = r"""
import gc, json, sys, time
import numpy as np
from IPython.core.interactiveshell import InteractiveShell

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

kind, size, home = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "nbmodels")
ip.run_line_magic("config", f"NBModels.home = {home!r}")
ip.run_line_magic("config", "NBModels.max_object_mb = 4096")
ip.run_line_magic("config", "NBModels.show_summary = False")
# warm up the code paths (imports, schema) on a small object of the same kind
values = np.random.default_rng(0).normal(size=size // 8)
if kind == "model":
    from sklearn.linear_model import LinearRegression
    small = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    ip.user_ns["small"] = small
    ip.run_cell("%%track warm\nwarm_model = small")
    big = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    big.coef_ = values
else:
    ip.user_ns["small"] = np.ones(1000)
    ip.run_cell("%%track warm\nwarm_data = small")
    big = values
del values
ip.user_ns["big"] = big
gc.collect()
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
start = time.perf_counter()
result = ip.run_cell("%%track memory\nobj = big")
elapsed = time.perf_counter() - start
assert result.success, result
peak = status("VmHWM")
print(json.dumps({"before": before, "peak": peak, "elapsed": elapsed, "nbytes": size}))
"""


def run(opts, results) -> None:
    scenario = "7-memory"
    size = (64 if opts.quick else 1024) * MIB
    print(f"\n[{scenario}] peak RSS while tracking a {size // MIB} MiB object (fresh process)")
    for kind in ("model", "data"):
        home = opts.workdir / f"memory-{kind}" / ".nbmodels"
        out = subprocess.run([sys.executable, "-c", SCRIPT, kind, str(size), str(home)],
                             capture_output=True, text=True, cwd=opts.workdir)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        found = json.loads(out.stdout.strip().splitlines()[-1])
        extra = found["peak"] - found["before"]
        label = ("LinearRegression with a 1 GiB coef_ (role model)" if kind == "model"
                 else "1 GiB ndarray (role data: fingerprint + stats)")
        if opts.quick:
            label = label.replace("1 GiB", f"{size // MIB} MiB")
        results.add(Measure(scenario, f"peak RSS − RSS before, {label}", "nbmodels", [extra],
                            unit="bytes", note=f"cell took {found['elapsed']:.2f} s"))
        results.target(scenario, f"extra peak memory / object size ({kind})", extra / size, 0.10, "max", "x")
