"""The words people read, in their language: gettext catalogs, Chinese first.

Source strings are English and marked ``_("…")`` (translated now) or ``N_("…")`` (marked
only, translated where shown: module-level tables). The catalogs live beside this module
(``locale/<lang>/LC_MESSAGES/daiban.po``, managed with Babel: ``make catalogs``) and ship
compiled in the package; reading them needs only the standard library, so every package,
the rules included, can import this one.

The language is zh_CN unless ``DAIBAN_LANG`` (or, failing that, the usual locale variables
``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG``) names English. A server answering many
people switches per request with :func:`use_language` and :func:`best_language`.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DOMAIN = "daiban"
LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = ("zh_CN", "en")

_request_language: ContextVar[str | None] = ContextVar("daiban_language", default=None)
_process_language: list[str] = []


def normalize(tag: str | None) -> str | None:
    """The catalog a language tag or locale name asks for (``zh-CN``, ``en_US.UTF-8``), or None."""
    if not tag:
        return None
    base = tag.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if base.startswith("zh"):
        return "zh_CN"
    if base.startswith("en"):
        return "en"
    return None


def language_from_env(environ: Mapping[str, str]) -> str:
    """``DAIBAN_LANG`` first, then the locale variables; C/POSIX or nothing means zh_CN."""
    for name in ("DAIBAN_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in environ.get(name, "").split(":"):
            chosen = normalize(part)
            if chosen is not None:
                return chosen
    return DEFAULT_LANGUAGE


def best_language(accept_language: str | None) -> str:
    """The best catalog for an HTTP ``Accept-Language`` header (q-values honoured), else zh_CN."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "").split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        chosen = normalize(tag)
        if chosen is not None and quality > 0:
            ranked.append((-quality, index, chosen))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def set_language(language: str | None) -> None:
    """Fix the process language (a CLI switch, the console); None reads the environment again."""
    _process_language.clear()
    if language is not None:
        _process_language.append(normalize(language) or DEFAULT_LANGUAGE)


def current_language() -> str:
    chosen = _request_language.get()
    if chosen is not None:
        return chosen
    if not _process_language:
        _process_language.append(language_from_env(os.environ))
    return _process_language[0]


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Speak ``language`` inside the block (this task or thread only)."""
    token = _request_language.set(normalize(language) or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _request_language.reset(token)


@cache
def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(current_language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it yet (translate where shown)."""
    return message
