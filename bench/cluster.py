"""Scale and failure on a loopback cluster: HAProxy, ``daiban serve`` processes, workers, one
PostgreSQL and one Redis (the cluster test's harness, ``tests/support/cluster.py``).

1. **Scale.** Two API processes (one uvicorn worker each) serve one scratch database. Two
   HAProxy frontends (``deploy/haproxy.cfg``) stand in front: one sends to the first
   process only, the other to both. The same load runs against each frontend in turn,
   ``--rounds`` times, ``--seconds`` each: wrk (C, from Debian's packages, so the load
   generator takes little of the CPU) keeps ``--connections`` requests in flight, each
   signed in as one of ``--agents`` village agents: 60 % read one of the agent's cases,
   20 % list the agent's cases, 20 % create a case online. Without wrk, the Python
   clients of the cluster test make the load instead. Result: requests per second per
   round, and ``scale ratio: X`` = median with two processes / median with one.
2. **Failure** (``--kill-seconds N``, 0 to skip): the cluster test's run, longer: two API
   processes and two workers under mixed load; API process 1 is killed at a fifth of the
   run and restarted, worker 1 killed at half. Prints lost writes, the client error rate
   and how often each breach was escalated.

    python bench/cluster.py [--dsn postgresql://root@127.0.0.1:5432/test]
        [--redis redis://127.0.0.1:6379/0] [--rounds 3 --seconds 8] [--kill-seconds 60]

The scale ratio depends on the cores the machine can spare: two processes can only beat
one by what the CPU left beside PostgreSQL, HAProxy and the load generator allows (the
load average is printed with each result).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)
sys.path.insert(1, str(_HERE.parent / "tests" / "support"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from cluster import Cluster, Tally, case_body, flush, kill_run, run_load, village_agents  # noqa: E402

from server import db  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402

DB_NAME = "daiban_bench_cluster"

LUA = r"""
local agents = %(agents)s
local before, after = %(before)s, %(after)s
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end
local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%%x", v)
  end))
end
request = function()
  local a = agents[math.random(#agents)]
  local headers = {["Authorization"] = a[1], ["Content-Type"] = "application/json"}
  local roll = math.random()
  if roll < 0.6 then
    return wrk.format("GET", "/api/v1/cases/" .. a[2][math.random(#a[2])], headers)
  elseif roll < 0.8 then
    return wrk.format("GET", "/api/v1/cases?view=mine", headers)
  end
  return wrk.format("POST", "/api/v1/cases", headers, before .. uuid() .. after)
end
local bad = 0
response = function(status, headers, body)
  if status >= 400 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %%d, "seconds": %%.3f, "errors": %%d, "p50_ms": %%.1f, "p99_ms": %%.1f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
      + summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def database_url(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def create_seeded(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()
    url = database_url(dsn, DB_NAME)
    settings = load_settings({}, database_url=url)
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network(settings.demo_password)
    finally:
        await db.stop(engine)
    return url


async def drop(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        await conn.close()


async def agents_with_cases(base: str, usernames: list[str], per_agent: int) -> list[tuple[str, list[str]]]:
    """Sign each agent in and give it ``per_agent`` cases to read; (authorization, case ids)."""
    out: list[tuple[str, list[str]]] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for name in usernames:
            while True:
                r = await http.post("/api/v1/auth/token", json={"username": name, "password": "demo"})
                if r.status_code != 429:
                    break
                await asyncio.sleep(1)
            auth = f"Bearer {r.json()['access_token']}"
            ids = []
            for n in range(per_agent):
                body = case_body(n)
                r = await http.post("/api/v1/cases", json=body, headers={"Authorization": auth})
                assert r.status_code == 201, r.text
                ids.append(body["id"])
            out.append((auth, ids))
    return out


def lua_script(agents: list[tuple[str, list[str]]]) -> str:
    body = case_body(7)
    del body["id"]
    text = json.dumps(body, ensure_ascii=False)
    before, after = '{"id": "', '", ' + text[1:]

    def lua(value: object) -> str:
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        assert isinstance(value, list | tuple)
        return "{" + ", ".join(lua(v) for v in value) + "}"

    return LUA % {"agents": lua([[a, ids] for a, ids in agents]), "before": lua(before), "after": lua(after)}


def wrk_round(wrk: str, script: Path, base: str, seconds: float, connections: int) -> dict[str, float]:
    done = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script), base],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("{"))
    result: dict[str, float] = json.loads(line)
    result["rps"] = result["requests"] / result["seconds"]
    return result


def python_round(base: str, usernames: list[str], seconds: float) -> dict[str, float]:
    tally = Tally()
    started = time.monotonic()
    asyncio.run(run_load(base, usernames, seconds, tally))
    elapsed = time.monotonic() - started
    return {"requests": tally.requests, "seconds": elapsed, "errors": tally.errors, "rps": tally.requests / elapsed}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def scale(args: argparse.Namespace, url: str, workdir: Path, haproxy: str) -> float:
    cluster = Cluster(url, args.redis, workdir, apis=2, workers=0, haproxy=haproxy)
    with cluster.running():
        one, both = cluster.proxy_to([0]), cluster.url
        usernames = asyncio.run(village_agents(url, args.agents))
        wrk = shutil.which("wrk")
        script = workdir / "load.lua"
        if wrk:
            script.write_text(lua_script(asyncio.run(agents_with_cases(both, usernames, 10))))
            print(f"load: wrk, {args.connections} connections, {len(usernames)} agents; 60% read, 20% list, 20% create")
        else:
            print(f"load: Python clients ({len(usernames)} agents; wrk not installed: apt-get install wrk)")
        results: dict[int, list[float]] = {1: [], 2: []}
        per_cpu: dict[int, list[float]] = {1: [], 2: []}
        pids = [p.pid for p in cluster.api_procs if p is not None]
        for r in range(args.rounds):
            for n, base in ((1, one), (2, both)):
                cpu = cpu_seconds(pids)
                if wrk:
                    res = wrk_round(wrk, script, base, args.seconds, args.connections)
                else:
                    res = python_round(base, usernames, args.seconds)
                results[n].append(res["rps"])
                used = cpu_seconds(pids) - cpu
                per_cpu[n].append(res["requests"] / used if used else 0.0)
                load = os.getloadavg()[0]
                extra = f", p50 {res['p50_ms']:.0f} ms, p99 {res['p99_ms']:.0f} ms" if "p50_ms" in res else ""
                print(f"round {r + 1}, {n} API process{'es' if n > 1 else ''}: {res['rps']:.1f} requests/s "
                      f"({int(res['requests'])} in {res['seconds']:.1f}s, {int(res['errors'])} errors{extra}; "
                      f"API CPU {used:.1f}s = {used / res['seconds']:.2f} cores, {per_cpu[n][-1]:.0f} requests per "
                      f"CPU-second; "
                      f"load average {load:.1f})")  # fmt: skip
    m1, m2 = statistics.median(results[1]), statistics.median(results[2])
    c1, c2 = statistics.median(per_cpu[1]), statistics.median(per_cpu[2])
    print(f"median: {m1:.1f} requests/s with 1 process, {m2:.1f} with 2 ({m2 / 2:.1f} per process)")
    # What the processes did with the CPU they got: when other work holds the cores (the load
    # average above), the wall-clock ratio measures the machine, this one the service.
    print(f"requests per API CPU-second: {c1:.0f} with 1 process, {c2:.0f} with 2 (efficiency ratio {c2 / c1:.2f})")
    return m2 / m1


def failure(args: argparse.Namespace, url: str, workdir: Path, haproxy: str) -> None:
    asyncio.run(flush(args.redis))
    usernames = asyncio.run(village_agents(url, args.agents + 1))
    cluster = Cluster(url, args.redis, workdir / "kill", apis=2, workers=2, haproxy=haproxy)
    (workdir / "kill").mkdir()
    n = args.kill_seconds
    with cluster.running():
        run = kill_run(cluster, usernames, n, 20, kill_api_at=n / 5, restart_at=n / 5 + 3, kill_worker_at=n / 2)
    asyncio.run(run.check(url))
    print(run.report())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("DAIBAN_TEST_PG", "postgresql://root@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--kill-seconds", type=float, default=60)
    args = parser.parse_args(argv)
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        sys.exit("haproxy is not installed: make deploy-tools (Debian's haproxy package)")
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
    url = asyncio.run(create_seeded(args.dsn))
    try:
        with tempfile.TemporaryDirectory(prefix="daiban-cluster-") as tmp:
            ratio = scale(args, url, Path(tmp), haproxy)
            if args.kill_seconds > 0:
                failure(args, url, Path(tmp), haproxy)
    finally:
        asyncio.run(drop(args.dsn))
    print(f"scale ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
