"""Outside programs some tests drive (HAProxy, docker compose, systemd-analyze).

Under CI (``CI=true``, where ``.ci/run`` installs them from Debian's packages) a missing
one fails the test; on a developer's machine it skips, saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

UNDER_CI = os.environ.get("CI") == "true" or os.environ.get("DAIBAN_REQUIRE_SERVICES") == "1"


def need(*command: str, install: str, in_ci: bool = True) -> list[str]:
    """The first of ``command`` alternatives found (each may be several words), else skip —
    or fail, under CI, when ``in_ci`` (CI installs it)."""
    for candidate in command:
        words = candidate.split()
        path = shutil.which(words[0])
        if path is None:
            continue
        if len(words) > 1:
            probe = subprocess.run([path, *words[1:], "version"], capture_output=True, check=False)
            if probe.returncode != 0:
                continue
        return [path, *words[1:]]
    message = f"{' or '.join(command)} not installed ({install})"
    if UNDER_CI and in_ci:
        pytest.fail(message)
    pytest.skip(message)
