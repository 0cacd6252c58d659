"""The loopback cluster: HAProxy in front of two ``daiban serve`` processes and two workers on
one PostgreSQL and Redis. Under a mixed load (online creates, device pushes, reads), one API
process is killed and restarted and one worker is killed; afterwards no acknowledged write
is missing, the clients' error rate is printed (after the proxy's and their own retries:
goal 0), and every SLA breach was escalated exactly once by the surviving workers.

HAProxy comes from Debian's packages (``make deploy-tools``; CI installs it).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from cluster import Cluster, flush, kill_run, village_agents
from programs import need

from server.settings import Settings

pytestmark = [pytest.mark.pg, pytest.mark.redis, pytest.mark.slow]

LOAD_SECONDS = 15
BREACHES = 8


@pytest.mark.timeout(180)
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_killing_an_api_process_and_a_worker_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    haproxy = need("haproxy", install="make deploy-tools")[0]
    redis_url = os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/0")
    asyncio.run(flush(redis_url))
    url = settings.database_url
    agents = asyncio.run(village_agents(url, 13))
    cluster = Cluster(url, redis_url, tmp_path, apis=2, workers=2, haproxy=haproxy)
    with cluster.running():
        run = kill_run(cluster, agents, LOAD_SECONDS, BREACHES, kill_api_at=4, restart_at=7, kill_worker_at=10)
        assert cluster.api_procs[0] is not None and cluster.api_procs[0].poll() is None  # restarted
    asyncio.run(run.check(url))
    print("\n" + run.report())
    assert len(run.events) == 4
    assert (run.missing_cases, run.missing_ops) == ([], [])
    assert run.tally.errors == 0, run.tally.failures[:10]
    assert run.escalated == dict.fromkeys(run.breached, 1)
    assert len(run.tally.acked_cases) > 50
