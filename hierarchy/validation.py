"""Validation and masking of applicant identifiers.

Resident IDs follow GB 11643-1999 (18 characters, ISO 7064 MOD 11-2 check character);
unified social credit codes follow GB 32100-2015 (18 characters, MOD 31 check
character); mobile numbers are mainland 11-digit numbers. Every ``check_*`` function
returns the normalised value or raises :class:`~hierarchy.errors.InvalidInput` with a
stable code, the offending ``field`` and a ``reason`` (``length``, ``format``,
``birth_date``, ``check_digit``) so a form can point at the right box.
"""

from __future__ import annotations

import re
from datetime import date

from hierarchy.errors import InvalidInput

__all__ = [
    "check_credit_code",
    "check_mobile",
    "check_phone",
    "check_resident_id",
    "make_credit_code",
    "make_resident_id",
    "mask_phone",
    "mask_resident_id",
]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# re.ASCII keeps fullwidth and other Unicode digits out: str.isdigit() would let them in.
_ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)

# GB 32100 leaves out I, O, Z, S and V so codes cannot be misread as 1, 0, 2, 5 and U.
_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_VALUES = {char: index for index, char in enumerate(_CREDIT_CHARSET)}

_MOBILE_PATTERN = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_MOBILE_SEPARATORS = re.compile(r"[\s\-]+")

# A landline: trunk prefix 0, a 2- or 3-digit area code (10, 20-29, or three digits such
# as 955 for 中卫), then a 7- or 8-digit local number, e.g. 0955-7012345.
_LANDLINE_PATTERN = re.compile(r"0(10|2[0-9]|[3-9][0-9]{2})([0-9]{7,8})", re.ASCII)

_EARLIEST_BIRTH_YEAR = 1900


def _resident_check_char(prefix17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(prefix17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _credit_check_char(prefix17: str) -> str:
    total = sum(_CREDIT_VALUES[char] * weight for char, weight in zip(prefix17, _CREDIT_WEIGHTS, strict=True))
    # (31 - total % 31) with 31 mapped to 0 is the same as -total mod 31.
    return _CREDIT_CHARSET[-total % 31]


def check_resident_id(value: str, field: str = "applicant.resident_id") -> str:
    """Validate an 18-character mainland resident ID number.

    Args:
        value: The ID as typed; surrounding whitespace is ignored and a lowercase ``x``
            check character is accepted.
        field: The form field reported in the error data.

    Returns:
        The normalised ID (uppercase ``X``).

    Raises:
        InvalidInput: ``applicant.resident_id_invalid`` when the length, the format, the
            birth date (characters 7-14, a real date in 1900 or later) or the check
            character is wrong.
    """
    normalised = value.strip().upper()

    def invalid(reason: str, message: str) -> InvalidInput:
        return InvalidInput("applicant.resident_id_invalid", message, field=field, reason=reason)

    if len(normalised) != 18:
        raise invalid("length", "A resident ID has 18 characters.")
    if not _ID_PATTERN.fullmatch(normalised):
        raise invalid("format", "A resident ID is 17 digits followed by a digit or X.")
    year, month, day = int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14])
    try:
        date(year, month, day)
    except ValueError:
        raise invalid("birth_date", "The birth date in the resident ID is not a real date.") from None
    if year < _EARLIEST_BIRTH_YEAR:
        raise invalid("birth_date", "The birth year in the resident ID is before 1900.")
    if _resident_check_char(normalised[:17]) != normalised[17]:
        raise invalid("check_digit", "The resident ID's check digit does not match.")
    return normalised


def check_credit_code(value: str, field: str = "applicant.credit_code") -> str:
    """Validate an 18-character unified social credit code.

    Args:
        value: The code as typed; surrounding whitespace is ignored and lowercase letters
            are accepted.
        field: The form field reported in the error data.

    Returns:
        The normalised, uppercase code.

    Raises:
        InvalidInput: ``applicant.credit_code_invalid`` when the length, the character set
            or the check character is wrong.
    """
    normalised = value.strip().upper()

    def invalid(reason: str, message: str) -> InvalidInput:
        return InvalidInput("applicant.credit_code_invalid", message, field=field, reason=reason)

    if len(normalised) != 18:
        raise invalid("length", "A unified social credit code has 18 characters.")
    if any(char not in _CREDIT_VALUES for char in normalised):
        raise invalid("format", "The credit code contains a character GB 32100 does not use.")
    if _credit_check_char(normalised[:17]) != normalised[17]:
        raise invalid("check_digit", "The credit code's check character does not match.")
    return normalised


def check_mobile(value: str, field: str = "applicant.phone") -> str:
    """Validate a mainland mobile number.

    Args:
        value: The number as typed; spaces, dashes and a ``+86`` / ``0086`` country prefix
            are tolerated.
        field: The form field reported in the error data.

    Returns:
        The 11 digits, without separators or prefix.

    Raises:
        InvalidInput: ``applicant.phone_invalid`` unless the number is 11 digits starting
            with 13-19.
    """
    compact = _MOBILE_SEPARATORS.sub("", value)
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
            break
    else:
        # "86" written without the plus: only unambiguous when 13 digits remain.
        if len(compact) == 13 and compact.startswith("86"):
            compact = compact[2:]
    if not _MOBILE_PATTERN.fullmatch(compact):
        raise InvalidInput(
            "applicant.phone_invalid",
            "A mobile number has 11 digits and starts with 13 to 19.",
            field=field,
            reason="format",
        )
    return compact


def check_phone(value: str, field: str = "applicant.phone") -> str:
    """Validate a mainland mobile number or a landline with its area code.

    Many elderly rural applicants have only a landline, so both are valid contact numbers.

    Returns:
        A mobile number as 11 digits; a landline as ``0AREA-NUMBER`` (``0955-7012345``).

    Raises:
        InvalidInput: ``applicant.phone_invalid`` when it is neither.
    """
    try:
        return check_mobile(value, field)
    except InvalidInput:
        pass
    compact = _MOBILE_SEPARATORS.sub("", value)
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):  # written internationally, the trunk 0 is dropped
            compact = "0" + compact[len(prefix) :]
    match = _LANDLINE_PATTERN.fullmatch(compact)
    if match is None:
        raise InvalidInput(
            "applicant.phone_invalid",
            "A phone number is an 11-digit mobile number or a landline with its area code (0955-7012345).",
            field=field,
            reason="format",
        )
    return f"0{match.group(1)}-{match.group(2)}"


def _mask(value: str, keep_head: int, keep_tail: int) -> str:
    # Too short to keep both ends and still hide something: hide everything.
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)
    return value[:keep_head] + "*" * (len(value) - keep_head - keep_tail) + value[-keep_tail:]


def mask_resident_id(value: str) -> str:
    """Mask a resident ID for people who may not see it: ``640502********1234``.

    The region code (first 6) and the last 4 stay visible so agents can still tell two
    applicants apart; the birth date is hidden.
    """
    return _mask(value, 6, 4)


def mask_phone(value: str) -> str:
    """Mask a phone number for people who may not see it: ``138****5678``, ``0955-***2345``."""
    area, dash, number = value.partition("-")
    if dash:
        return f"{area}-{_mask(number, 0, 4)}"
    return _mask(value, 3, 4)


def make_resident_id(prefix17: str) -> str:
    """Append the GB 11643 check character to 17 digits.

    Used by seeds and tests to build valid fake IDs; the birth date is not checked here.

    Raises:
        InvalidInput: ``applicant.resident_id_invalid`` unless ``prefix17`` is 17 digits.
    """
    if len(prefix17) != 17 or not _ID_PATTERN.fullmatch(prefix17 + "0"):
        raise InvalidInput(
            "applicant.resident_id_invalid",
            "A resident ID prefix is 17 digits.",
            field="prefix17",
            reason="format",
        )
    return prefix17 + _resident_check_char(prefix17)


def make_credit_code(prefix17: str) -> str:
    """Append the GB 32100 check character to 17 code characters.

    Used by seeds and tests to build valid fake credit codes.

    Raises:
        InvalidInput: ``applicant.credit_code_invalid`` unless ``prefix17`` is 17
            characters of the GB 32100 character set.
    """
    if len(prefix17) != 17 or any(char not in _CREDIT_VALUES for char in prefix17):
        raise InvalidInput(
            "applicant.credit_code_invalid",
            "A credit code prefix is 17 characters of the GB 32100 character set.",
            field="prefix17",
            reason="format",
        )
    return prefix17 + _credit_check_char(prefix17)
