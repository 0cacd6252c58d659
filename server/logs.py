"""Structured logs: one pipeline for structlog events and the standard library's records.

Everything — daiban's own events, Litestar, uvicorn, arq — is rendered by one
:class:`structlog.stdlib.ProcessorFormatter` on standard error: a JSON object per line in
production, aligned key=value pairs for a person at a terminal. Events carry an event
name and fields (``sync.push applied=198 rejected=2``); the request id is bound once per
request (:mod:`server.observe`) and rides along on every line logged while it runs.

Personal data is kept out by construction (events name cases by id and agents by number,
never an applicant); :func:`redact` is the net under that: any resident-ID-shaped or
mobile-number-shaped run of digits left in a line is masked before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from litestar.logging.config import LoggingConfig, StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from structlog.typing import EventDict, Processor, WrappedLogger

from server.settings import Settings

#: 18-character resident IDs (GB 11643) and mainland mobile numbers, not inside longer digit runs.
_RESIDENT_ID = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{9}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")

#: Loggers that speak once per request or job (our lines say it, without query strings),
#: or that write SQL parameters and URLs (personal data) at debug level: warnings only.
_QUIET = {
    name: logging.WARNING
    for name in ("uvicorn.access", "arq.worker", "arq.jobs", "aiosqlite", "asyncpg", "httpx", "httpcore", "piccolo")
}


def _mask(text: str) -> str:
    text = _RESIDENT_ID.sub(lambda m: m.group()[:6] + "*" * 8 + m.group()[-4:], text)
    return _MOBILE.sub(lambda m: m.group()[:3] + "****" + m.group()[-4:], text)


def drop_color_message(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """uvicorn adds an ANSI-coloured copy of each message; the line has it once."""
    event.pop("color_message", None)
    return event


def redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Mask resident IDs and mobile numbers in every string field (and the message)."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = _mask(value)
    return event


def use_json(settings: Settings) -> bool:
    if settings.log_format == "auto":
        return not sys.stderr.isatty()
    return settings.log_format == "json"


def shared_processors() -> list[Processor]:
    """What every line gets, whether it came through structlog or the standard library."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(settings: Settings) -> structlog.stdlib.ProcessorFormatter:
    """The one formatter: shared processors, redaction, then JSON or console rendering."""
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json(settings)
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            drop_color_message,
            redact,
            renderer,
        ],
    )


def _level(settings: Settings) -> int:
    return logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)


def _structlog_config(settings: Settings) -> StructLoggingConfig:
    stdlib = LoggingConfig(
        formatters={"daiban": {"()": lambda: formatter(settings)}},
        handlers={"stderr": {"class": "logging.StreamHandler", "formatter": "daiban", "stream": "ext://sys.stderr"}},
        root={"handlers": ["stderr"], "level": logging.getLevelName(_level(settings))},
        loggers={
            "litestar": {"level": "INFO", "handlers": [], "propagate": True},
            **{name: {"level": logging.getLevelName(level)} for name, level in _QUIET.items()},
        },
        configure_root_logger=True,
        disable_existing_loggers=False,
    )
    return StructLoggingConfig(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
        standard_lib_logging_config=stdlib,
        # server.problems.internal_error logs each 500 with its traceback; 4xx are the
        # request line's business. Litestar's own exception log would repeat both.
        log_exceptions="never",
    )


def plugin(settings: Settings) -> StructlogPlugin:
    """Litestar's structlog plugin, set up as above. The request line is
    :class:`server.observe.ObserveMiddleware`'s (one line, no bodies or query strings,
    which can hold personal data), so the plugin's own request logging stays off."""
    return StructlogPlugin(
        StructlogConfig(structlog_logging_config=_structlog_config(settings), enable_middleware_logging=False)
    )


def configure(settings: Settings) -> None:
    """Set up logging for a process that is not (yet) a Litestar app: the worker, the CLI."""
    config = _structlog_config(settings)
    config.configure()
    if config.standard_lib_logging_config is not None:
        config.standard_lib_logging_config.configure()


def get_logger(name: str) -> Any:
    """A structlog logger named ``name`` (``daiban.…``); call ``.info("event.name", key=value)``."""
    return structlog.stdlib.get_logger(name)
