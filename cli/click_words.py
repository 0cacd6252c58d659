"""Click's own words (usage, options, errors), marked here so the catalog carries them.

Click looks them up through the standard ``gettext`` domain; :func:`speak_to_click` points
that domain at our catalog in the chosen language.
"""

from __future__ import annotations

import gettext
import os

from hierarchy.i18n import DOMAIN, LOCALE_DIR, N_, current_language

WORDS = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("%(prog)s, version %(version)s"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Missing option"),
    N_("Missing argument"),
    N_("Missing command."),
    N_("Missing parameter"),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Invalid value: {message}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("Aborted!"),
    N_("required"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("Choose from:\n\t{choices}"),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Do you want to continue?"),
    N_("Password"),
)


def speak_to_click() -> None:
    """Make click's messages follow the daiban language (zh_CN unless DAIBAN_LANG says otherwise)."""
    os.environ["LANGUAGE"] = current_language()
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
