"""deploy/ is accepted by the tools that will read it: compose, systemd, HAProxy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml  # type: ignore[import-untyped]
from processes import DAIBAN, ROOT
from programs import need

DEPLOY = ROOT / "deploy"


def test_compose_file_is_accepted_and_has_the_topology() -> None:
    compose = need("docker compose", "docker-compose", install="apt-get install docker-compose")
    done = subprocess.run([*compose, "-f", str(DEPLOY / "compose.yaml"), "config"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    assert set(config["services"]) == {"postgres", "redis", "migrate", "api1", "api2", "worker", "proxy"}
    for api in ("api1", "api2"):
        assert config["services"][api]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "--no-migrate" in config["services"][api]["command"]
    assert config["services"]["worker"]["command"] == ["daiban", "worker"]
    assert (DEPLOY / "Dockerfile").is_file()


def test_systemd_units_pass_verify(tmp_path: Path) -> None:
    analyze = need("systemd-analyze", install="part of systemd", in_ci=False)
    # The units name the install prefix /opt/daiban/venv; verify checks that the program
    # exists, so they are checked as installed here: with this checkout's daiban.
    units = sorted([*DEPLOY.glob("systemd/*.service"), *DEPLOY.glob("systemd/*.timer")])
    assert {u.name for u in units} >= {"daiban-api@.service", "daiban-worker.service", "daiban-migrate.service"}
    names = []
    for unit in units:
        text = unit.read_text().replace("/opt/daiban/venv/bin/daiban", str(DAIBAN))
        name = unit.name.replace("@.", "@8001.")
        (tmp_path / name).write_text(text)
        names.append(name)
    done = subprocess.run([*analyze, "verify", *names], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_haproxy_config_is_valid() -> None:
    haproxy = need("haproxy", install="apt-get install haproxy")
    done = subprocess.run([*haproxy, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert done.returncode == 0 and "Configuration file is valid" in done.stdout + done.stderr, done.stderr
