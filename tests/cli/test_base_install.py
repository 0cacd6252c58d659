"""The base install (no ``[server]`` extra) runs the device's commands.

The server's packages are made unimportable in a child interpreter, as on a village device
that installed ``pip install daiban``; ``village`` and ``console`` must still answer, and a
server command must say which extra to install.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: The server extra's packages (and what they pull in), absent on a device.
SERVER_ONLY = ("litestar", "piccolo", "asyncpg", "arq", "uvicorn", "openpyxl", "redis")

BLOCK = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
import cli
sys.argv = ["daiban", *sys.argv[1:]]
cli.main()
"""


def daiban(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK, *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", [("village", "--help"), ("console", "--help"), ("--help",)])
def test_device_commands_need_no_server_packages(command: tuple[str, ...]) -> None:
    done = daiban(*command)
    assert done.returncode == 0, done.stderr
    assert "daiban" in done.stdout and "--help" in done.stdout


def test_a_server_command_names_the_extra() -> None:
    done = daiban("serve")
    assert done.returncode == 1
    assert "daiban[server]" in done.stderr
