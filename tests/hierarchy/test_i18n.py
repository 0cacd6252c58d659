"""The language helper: which catalog is chosen, and that the chosen one speaks."""

from __future__ import annotations

import pytest

from hierarchy import i18n
from hierarchy.i18n import _


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "zh_CN"),
        ({"LANG": "C.UTF-8"}, "zh_CN"),
        ({"LANG": "POSIX"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"DAIBAN_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"DAIBAN_LANG": "zh-CN", "LANG": "en_GB.UTF-8"}, "zh_CN"),
        ({"DAIBAN_LANG": "fr", "LANG": "en_GB.UTF-8"}, "en"),
    ],
)
def test_language_from_env(environ, expected):
    assert i18n.language_from_env(environ) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh_CN"),
        ("", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.8", "zh_CN"),
        ("en;q=0, zh-TW", "zh_CN"),
        ("de, fr;q=0.7", "zh_CN"),
        ("en;q=bogus, zh;q=0.1", "zh_CN"),
    ],
)
def test_best_language(header, expected):
    assert i18n.best_language(header) == expected


def test_the_catalogs_speak_each_language():
    with i18n.use_language("zh_CN"):
        assert _("Show this message and exit.") == "显示本帮助并退出。"
    with i18n.use_language("en"):
        assert _("Show this message and exit.") == "Show this message and exit."
    assert i18n.N_("Show this message and exit.") == "Show this message and exit."


def test_set_language_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("DAIBAN_LANG", "zh_CN")
    try:
        i18n.set_language("en")
        assert i18n.current_language() == "en"
        with i18n.use_language("zh-CN"):
            assert i18n.current_language() == "zh_CN"
        assert i18n.current_language() == "en"
        i18n.set_language(None)
        assert i18n.current_language() == "zh_CN"
    finally:
        i18n.set_language(None)
