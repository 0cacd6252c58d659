"""Keep the message catalogs in step with the code (Babel): update, compile, check.

    python tools/catalogs.py update    # extract marked strings (babel.cfg) into every .po
    python tools/catalogs.py compile   # .po -> .mo beside it (shipped in the package)
    python tools/catalogs.py check     # fail when a marked string has no zh_CN translation

The .po files carry no source locations and are sorted by message, so two branches that
each add strings rarely touch the same lines.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "hierarchy" / "locale"
DOMAIN = "daiban"
LANGUAGES = ("zh_CN", "en")
#: gettext's keywords, and ``both`` (console palette titles: translated, English kept beside).
KEYWORDS = {**DEFAULT_KEYWORDS, "both": None}
#: Fixed header dates: a regenerated catalog differs only where its messages do.
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(root: Path = ROOT, extra: Iterable[Path] = ()) -> Catalog:
    """Every marked string under ``root`` (as babel.cfg maps it) and under each ``extra`` folder."""
    with (root / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    template = Catalog(project="daiban", creation_date=STAMP, fuzzy=False)
    sources = [(root, method_map, options_map)] + [(path, [("**.py", "python")], {}) for path in extra]
    for folder, methods, options in sources:
        for filename, lineno, message, comments, context in extract_from_dir(
            folder, methods, options, keywords=KEYWORDS
        ):
            template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _read(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project="daiban", creation_date=STAMP, fuzzy=False)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def update(root: Path = ROOT, locale_dir: Path = LOCALE_DIR) -> None:
    template = extract(root)
    for language in LANGUAGES:
        path = po_path(language, locale_dir)
        catalog = _read(path, language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = STAMP
        catalog.revision_date = STAMP
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, no_location=True, omit_header=False, sort_output=True, ignore_obsolete=True)


def compile_all(locale_dir: Path = LOCALE_DIR) -> None:
    for language in LANGUAGES:
        path = po_path(language, locale_dir)
        catalog = _read(path, language)
        mo = path.with_suffix(".mo")
        partial = mo.with_suffix(".mo.part")
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        partial.replace(mo)


def missing(root: Path = ROOT, extra: Iterable[Path] = (), locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Marked strings with no (or only a fuzzy) zh_CN translation, in source order."""
    catalog = _read(po_path("zh_CN", locale_dir), "zh_CN")
    gaps = []
    for message in extract(root, extra):
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        strings = entry.string if entry is not None else ""
        translated = all(strings) if isinstance(strings, tuple) else bool(strings)
        if entry is None or entry.fuzzy or not translated:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            where = ", ".join(f"{name}:{line}" for name, line in message.locations)
            gaps.append(f"{key!r} ({where})")
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["update", "compile", "check"])
    parser.add_argument("--extra", type=Path, action="append", default=[], help="another folder to extract from")
    args = parser.parse_args(argv)
    if args.command == "update":
        update()
    elif args.command == "compile":
        compile_all()
    else:
        gaps = missing(extra=args.extra)
        for gap in gaps:
            print(f"no zh_CN translation: {gap}", file=sys.stderr)
        if gaps:
            hint = "run `make catalogs` and fill hierarchy/locale/zh_CN"
            print(f"{len(gaps)} string(s) lack zh_CN: {hint}", file=sys.stderr)
            return 1
        print("catalogs: every marked string has a zh_CN translation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
