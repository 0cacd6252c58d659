"""``daiban console`` is registered and documents its options."""

from __future__ import annotations

from click.testing import CliRunner

from cli import main


def test_console_command_help() -> None:
    result = CliRunner().invoke(main, ["console", "--help"])
    assert result.exit_code == 0, result.output
    assert "--server" in result.output and "--replica" in result.output
