"""The catalog check: every string marked for people has a zh_CN translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "tools" / "catalogs.py"


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CATALOGS), "check", *args], capture_output=True, text=True, cwd=ROOT)


def test_the_tree_passes():
    done = check()
    assert done.returncode == 0, done.stderr
    assert "every marked string" in done.stdout


def test_a_new_string_without_chinese_fails(tmp_path):
    (tmp_path / "new_screen.py").write_text(
        'from hierarchy.i18n import _\n\n\ndef title() -> str:\n    return _("A brand new heading nobody translated")\n'
    )
    done = check("--extra", str(tmp_path))
    assert done.returncode == 1
    assert "A brand new heading nobody translated" in done.stderr
    assert "new_screen.py:5" in done.stderr
    assert "1 string(s) lack zh_CN" in done.stderr


def test_a_translated_string_passes(tmp_path):
    (tmp_path / "reuse.py").write_text('from hierarchy.i18n import _\n\nLABEL = _("Show this message and exit.")\n')
    assert check("--extra", str(tmp_path)).returncode == 0


def test_daiban_help_is_chinese_by_default_and_english_on_request():
    def run(lang: str) -> str:
        env = {"PATH": "/usr/bin:/bin", "DAIBAN_LANG": lang, "LANG": "C.UTF-8"}
        return subprocess.run(
            [sys.executable, "-c", "import cli; cli.main()", "--help"],
            capture_output=True, text=True, cwd=ROOT, env=env, check=True,
        ).stdout

    chinese = run("")
    assert "用法" in chinese and "显示本帮助并退出" in chinese and "帮办代办网络" in chinese
    english = run("en")
    assert "Usage:" in english and "Show this message and exit." in english and "网络" not in english


def test_village_help_is_chinese_by_default_and_english_on_request():
    def run(lang: str) -> str:
        env = {"PATH": "/usr/bin:/bin", "DAIBAN_LANG": lang, "LANG": "C.UTF-8"}
        return subprocess.run(
            [sys.executable, "-c", "import cli; cli.main()", "village", "--help"],
            capture_output=True, text=True, cwd=ROOT, env=env, check=True,
        ).stdout

    chinese = run("")
    assert "离线客户端" in chinese and "签收（在本机立即生效" in chinese and "本设备的本地数据库" in chinese
    english = run("en")
    assert "The offline client" in english and "Claim (applied here at once" in english
    assert "离线客户端" not in english
