"""The applicant's rating page: plain HTML a phone shows without JavaScript or a CDN.

The receipt's QR code opens it (:data:`hierarchy.ratings.RATING_PAGE`). It shows what the
rating code rates — the item and the reference number, nothing personal — five choices
with their 好差评 words, an optional comment, and a normal form that posts back to the same
address. Every text is escaped here; the words come from the catalogs (Chinese first).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from hierarchy.cases import RATING_LABELS
from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from hierarchy.machine import MAX_TEXT
from hierarchy.ratings import RATING_PAGE
from server.ratings import RatingCase

#: Large type and tap targets, one column; the only styling, inline (no file to fetch).
STYLE = """
body{margin:0;font:20px/1.6 system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
color:#1a1a1a;background:#f6f6f2}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
dl{background:#fff;border:1px solid #ccc;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 1rem}
dt{font-size:.9rem;color:#555}dd{margin:0 0 .5rem;font-weight:600;word-break:break-all}
fieldset{border:0;padding:0;margin:0 0 1rem}legend{font-weight:700;margin-bottom:.5rem}
.choice{display:flex;align-items:center;gap:.75rem;min-height:3.25rem;margin:.5rem 0;padding:.5rem 1rem;
background:#fff;border:2px solid #888;border-radius:.5rem;cursor:pointer}
.choice input{width:1.75rem;height:1.75rem;margin:0}
.choice:focus-within{outline:3px solid #0b57d0}
.stars{color:#b35c00;letter-spacing:.1em}
label[for=comment]{display:block;font-weight:700;margin-bottom:.5rem}
textarea{box-sizing:border-box;width:100%;font:inherit;padding:.5rem;border:2px solid #888;border-radius:.5rem}
button{width:100%;min-height:3.5rem;margin-top:1rem;font:inherit;font-weight:700;color:#fff;
background:#0b57d0;border:0;border-radius:.5rem;cursor:pointer}
.error{background:#fde8e8;border:2px solid #b00020;border-radius:.5rem;padding:.75rem 1rem}
"""
#: The page's Content-Security-Policy: nothing but this page's own style; forms post only here.
CSP = (
    f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: Headers of every rating page: no caching (the code is in the address), no framing.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def _page(title: str, body: str, language: str) -> str:
    return (
        f'<!doctype html>\n<html lang="{escape(language.replace("_", "-"))}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="robots" content="noindex">\n<title>{escape(title)}</title>\n<style>{STYLE}</style>\n'
        f"</head>\n<body>\n<main>\n<h1>{escape(title)}</h1>\n{body}</main>\n</body>\n</html>\n"
    )


def _facts(case: RatingCase) -> str:
    item, ref = _("Item applied for"), _("Reference number")
    return (
        f"<dl><dt>{escape(item)}</dt><dd>{escape(case.item_name)}</dd>"
        f"<dt>{escape(ref)}</dt><dd>{escape(case.ref or '—')}</dd></dl>\n"
    )


def form_page(case: RatingCase, code: str, language: str, *, error: str = "", comment: str = "") -> str:
    """The rating form for ``case``; ``error`` (already in words) above it when a send failed."""
    choices = "".join(
        f'<label class="choice"><input type="radio" name="rating" value="{n}" required>'
        f'<span class="stars" aria-hidden="true">{stars(n)}</span><span>{n} {escape(RATING_LABELS[n])}</span></label>\n'
        for n in range(5, 0, -1)
    )
    alert = f'<p class="error" role="alert">{escape(error)}</p>\n' if error else ""
    hint = _("Comments (optional, at most {limit} characters)").format(limit=MAX_TEXT)
    question, submit = _("How satisfied are you with how your matter was handled?"), _("Submit rating")
    body = (
        f"{_facts(case)}{alert}"
        f'<form method="post" action="{escape(RATING_PAGE + code)}">\n'
        f"<fieldset><legend>{escape(question)}</legend>\n"
        f"{choices}</fieldset>\n"
        f'<label for="comment">{escape(hint)}</label>\n'
        f'<textarea id="comment" name="comment" rows="4" maxlength="{MAX_TEXT}">{escape(comment)}</textarea>\n'
        f'<button type="submit">{escape(submit)}</button>\n</form>\n'
    )
    return _page(_("Rate the service"), body, language)


def thanks_page(case: RatingCase, language: str) -> str:
    rating = case.rating or 0
    said = _("Your rating has been recorded: {rating} {words}.").format(
        rating=rating, words=RATING_LABELS.get(rating, "")
    )
    done = _("You may close this page now.")
    body = f'{_facts(case)}<p role="status">{escape(said)}</p>\n<p>{escape(done)}</p>\n'
    return _page(_("Thank you for your rating"), body, language)


def refusal_words(error: DaibanError) -> tuple[str, str]:
    """The title and the explanation an applicant reads for a refused code."""
    if error.code == "rating.code_used":
        return _("This rating code has already been used"), _(
            "Each code rates once. If you did not rate this matter yourself, "
            "please tell the service point that accepted it."
        )
    if error.code in ("rating.code_unknown", "rating.code_invalid"):
        return _("Rating code not found"), _(
            "Please check the code on your receipt (10 letters and digits) and try again."
        )
    if error.code == "rating.not_resolved" and error.data.get("status") == "closed":
        return _("The time to rate has passed"), _(
            "This matter was closed without a rating once the time to rate was over."
        )
    if error.code == "rating.not_resolved":
        return _("Not ready to rate yet"), _("You can rate once your matter has been completed.")
    if error.code == "rating.cross_site":
        return _("This form was sent from another site"), _(
            "For your safety, please open the link on your receipt again and rate there."
        )
    if error.status == 429:
        return _("Too many attempts"), _("Please wait a minute and try again.")
    return _("The rating could not be recorded"), _("Please try again later.")


def refusal_page(error: DaibanError, language: str) -> str:
    title, words = refusal_words(error)
    return _page(title, f'<p role="alert">{escape(words)}</p>\n', language)
