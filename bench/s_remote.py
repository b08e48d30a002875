"""Scenario 9: team registries on S3 (moto's server on 127.0.0.1): push and pull of a 60 MB
model against obstore's own plain put/get of the same bytes to the same server; the
requests of a second push with nothing new; a pull of a remote holding 1,000 versions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

from common import MIB, Measure, interleave

SCENARIO = "9-remote"


def _moto():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port), "-H",
                               "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto's S3 server did not start")


def _bucket(endpoint: str) -> str:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{name}", method="PUT"))
    return name


def run(opts, results) -> None:
    try:
        import moto  # noqa: F401
        import obstore  # noqa: F401
    except ImportError:
        print(f"\n[{SCENARIO}] skipped: needs `pip install -e .[test]` (obstore, moto[server])")
        return
    server, endpoint = _moto()
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                            "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    try:
        _large(opts, results, _bucket(endpoint))
        _many(opts, results, _bucket(endpoint))
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        server.terminate()
        server.wait(timeout=10)


def _large(opts, results, bucket: str) -> None:
    import numpy as np
    import obstore
    from obstore.store import from_url

    from nbmodels import Registry
    from nbmodels.remotes.transport import _store_options

    size = (8 if opts.quick else 60) * MIB
    print(f"\n[{SCENARIO}] push/pull of a {size // MIB} MiB model to S3 (moto on 127.0.0.1) "
          "vs obstore's plain put/get of its bytes")
    home = opts.workdir / "remote-alice"
    alice = Registry(home)
    version = alice.register(np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8),
                             "big")
    data = alice.objects.read_verified(version.object_hash)
    url = f"s3://{bucket}"
    store = from_url(url, **_store_options(url))
    counter = iter(range(10**6))
    pushed: list[str] = []
    put_keys: list[str] = []
    stats = {}

    def push():
        name = f"p{next(counter)}"
        alice.add_remote(name, f"{url}/{name}")
        started = time.perf_counter()
        stats["push"] = alice.push(name)
        elapsed = time.perf_counter() - started
        pushed.append(name)
        return elapsed

    def pull():
        target = opts.workdir / f"remote-bob-{next(counter)}"
        started = time.perf_counter()
        bob = Registry.clone(f"{url}/{pushed[-1]}", target)
        elapsed = time.perf_counter() - started
        assert bob.objects.check(version.object_hash)
        bob.close()
        return elapsed

    def plain_put():
        key = f"plain/{next(counter)}"
        started = time.perf_counter()
        obstore.put(store, key, data, use_multipart=False)
        elapsed = time.perf_counter() - started
        put_keys.append(key)
        return elapsed

    def plain_get():
        started = time.perf_counter()
        got = obstore.get(store, put_keys[-1]).bytes()
        elapsed = time.perf_counter() - started
        assert len(got) == len(data)
        return elapsed

    def get_to_file():
        started = time.perf_counter()
        path = opts.workdir / "plain-get.bin"
        with open(path, "wb") as file:
            file.write(obstore.get(store, put_keys[-1]).bytes())
            file.flush()
            os.fsync(file.fileno())
        elapsed = time.perf_counter() - started
        path.unlink()
        return elapsed

    samples = interleave({"push": push, "put": plain_put, "pull": pull, "get": plain_get,
                          "get+file": get_to_file}, opts.repeat)
    mb = len(data) / 1e6
    rows = [("push", "nbmodels push (object, run + version manifests, log)", "nbmodels"),
            ("put", "obstore.put of the same bytes (one request)", "baseline"),
            ("pull", "nbmodels clone (lists, manifests, object verified + fsynced)", "nbmodels"),
            ("get", "obstore.get of the same bytes (into memory)", "baseline"),
            ("get+file", "obstore.get + write to a file + fsync", "baseline")]
    for key, name, tool in rows:
        results.add(Measure(SCENARIO, f"{name}: {size // MIB} MiB", tool, samples[key],
                            note=f"{mb / min(samples[key]):.0f} MB/s best"))
    median = {k: sorted(v)[len(v) // 2] for k, v in samples.items()}
    results.target(SCENARIO, "push throughput / plain put", median["put"] / median["push"],
                   0.8, "min", "x")
    results.target(SCENARIO, "pull throughput / plain get", median["get"] / median["pull"],
                   0.8, "min", "x")
    results.add(Measure(SCENARIO, "pull throughput / plain get written to a file + fsync",
                        "nbmodels", [median["get+file"] / median["pull"]], unit="x"))
    again = alice.push(pushed[-1])
    results.add(Measure(SCENARIO, "second push, nothing new: requests", "nbmodels",
                        [again.requests], unit="x",
                        note=f"{again.objects} uploads, first push {stats['push'].requests} requests"))
    results.target(SCENARIO, "second push with nothing new: requests", again.requests, 1, "max",
                   "x")
    alice.close()


def _many(opts, results, bucket: str) -> None:
    from nbmodels import Registry

    count = 100 if opts.quick else 1000
    print(f"\n[{SCENARIO}] pull of a remote with {count:,} versions")
    alice = Registry(opts.workdir / "remote-many")
    for n in range(count):
        alice.register({"n": n, "weights": os.urandom(64)}, f"model-{n % 20}")
    alice.add_remote("origin", f"s3://{bucket}/many")
    started = time.perf_counter()
    report = alice.push()
    results.add(Measure(SCENARIO, f"push of {count:,} versions (first)", "nbmodels",
                        [time.perf_counter() - started], note=f"{report.requests} requests"))
    times = []
    for n in range(max(1, opts.repeat // 2)):
        started = time.perf_counter()
        bob = Registry.clone(f"s3://{bucket}/many", opts.workdir / f"remote-many-{n}")
        times.append(time.perf_counter() - started)
        assert bob.last_pull.versions == count, bob.last_pull
        note = f"{bob.last_pull.requests} requests"
        bob.close()
    results.add(Measure(SCENARIO, f"pull (clone) of {count:,} versions", "nbmodels", times,
                        note=note))
    results.target(SCENARIO, f"pull of {count:,} versions", sorted(times)[len(times) // 2], 5.0)
    alice.close()
