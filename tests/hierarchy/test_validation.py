from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hierarchy.errors import InvalidInput
from hierarchy.validation import (
    check_credit_code,
    check_mobile,
    check_resident_id,
    make_credit_code,
    make_resident_id,
    mask_phone,
    mask_resident_id,
)

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Published worked examples of each standard's check character.
KNOWN_RESIDENT_ID = "11010519491231002X"  # the GB 11643 specimen number
KNOWN_CREDIT_CODE = "91350100M000100Y43"  # a frequently cited GB 32100 example


def resident_prefixes() -> st.SearchStrategy[str]:
    """17-digit prefixes with a region, a real birth date and a sequence number."""
    return st.builds(
        lambda region, born, seq: f"{region:06d}{born:%Y%m%d}{seq:03d}",
        st.integers(110000, 659999),
        st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
        st.integers(0, 999),
    )


credit_prefixes = st.text(alphabet=CREDIT_CHARSET, min_size=17, max_size=17)


def test_known_resident_id_is_accepted() -> None:
    assert check_resident_id(KNOWN_RESIDENT_ID) == KNOWN_RESIDENT_ID
    assert make_resident_id(KNOWN_RESIDENT_ID[:17]) == KNOWN_RESIDENT_ID


def test_lowercase_x_and_whitespace_are_normalised() -> None:
    assert check_resident_id(" 11010519491231002x ") == KNOWN_RESIDENT_ID


@pytest.mark.parametrize(
    "prefix",
    [
        "64050219800101123",
        "44030419991231001",
        "11010520000229456",  # leap day
    ],
)
def test_made_resident_ids_validate(prefix: str) -> None:
    made = make_resident_id(prefix)
    assert len(made) == 18
    assert check_resident_id(made) == made


def test_wrong_check_digit_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_resident_id("110105194912310021")
    assert caught.value.code == "applicant.resident_id_invalid"
    assert caught.value.data == {"field": "applicant.resident_id", "reason": "check_digit"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", "length"),
        ("1101051949123100211", "length"),
        ("11010519491231A02X", "format"),
        ("１１０１０５１９４９１２３１００２Ｘ", "format"),  # fullwidth digits
        (make_resident_id("11010519490231002"), "birth_date"),  # 31 February
        (make_resident_id("11010518991231002"), "birth_date"),  # before 1900
        (make_resident_id("11010519491301002"), "birth_date"),  # month 13
    ],
)
def test_malformed_resident_ids_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_resident_id(value, field="agent.resident_id")
    assert caught.value.data == {"field": "agent.resident_id", "reason": reason}


@given(resident_prefixes())
def test_make_resident_id_always_validates(prefix: str) -> None:
    made = make_resident_id(prefix)
    assert check_resident_id(made) == made


@given(resident_prefixes(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_detected(prefix: str, position: int, shift: int) -> None:
    # Every weight is non-zero mod 11 and a digit change is 1..9, so the weighted sum
    # mod 11 always moves: the old check character can no longer match.
    made = make_resident_id(prefix)
    changed = str((int(made[position]) + shift) % 10)
    tampered = made[:position] + changed + made[position + 1 :]
    with pytest.raises(InvalidInput):
        check_resident_id(tampered)


@given(resident_prefixes(), st.sampled_from("0123456789X"))
def test_any_other_check_character_is_rejected(prefix: str, check: str) -> None:
    made = make_resident_id(prefix)
    if check == made[17]:
        return
    with pytest.raises(InvalidInput):
        check_resident_id(made[:17] + check)


def test_make_resident_id_rejects_bad_prefix() -> None:
    with pytest.raises(InvalidInput):
        make_resident_id("1101051949123100")
    with pytest.raises(InvalidInput):
        make_resident_id("1101051949123100X")


def test_known_credit_code_is_accepted() -> None:
    assert check_credit_code(KNOWN_CREDIT_CODE) == KNOWN_CREDIT_CODE
    assert check_credit_code(KNOWN_CREDIT_CODE.lower()) == KNOWN_CREDIT_CODE
    assert make_credit_code(KNOWN_CREDIT_CODE[:17]) == KNOWN_CREDIT_CODE


def test_credit_check_value_zero_maps_to_character_zero() -> None:
    # All zeros sum to 0, and 31 - 0 is 31, which the standard maps to 0.
    assert make_credit_code("0" * 17) == "0" * 18


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y42", "check_digit"),
        ("91350100M000100I43", "format"),  # I is not in the GB 32100 set
        ("91350100O000100Y43", "format"),  # nor O
    ],
)
def test_bad_credit_codes_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_credit_code(value)
    assert caught.value.code == "applicant.credit_code_invalid"
    assert caught.value.data == {"field": "applicant.credit_code", "reason": reason}


@given(credit_prefixes)
def test_make_credit_code_always_validates(prefix: str) -> None:
    made = make_credit_code(prefix)
    assert check_credit_code(made) == made


@given(credit_prefixes, st.integers(0, 16), st.integers(1, 30))
def test_any_single_character_change_in_credit_code_is_detected(prefix: str, position: int, shift: int) -> None:
    # 31 is prime, every weight is below 31 and a change is 1..30: the sum mod 31 moves.
    made = make_credit_code(prefix)
    changed = CREDIT_CHARSET[(CREDIT_CHARSET.index(made[position]) + shift) % 31]
    tampered = made[:position] + changed + made[position + 1 :]
    with pytest.raises(InvalidInput):
        check_credit_code(tampered)


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "008613812345678",
        "8613812345678",
    ],
)
def test_mobile_numbers_are_normalised(value: str) -> None:
    assert check_mobile(value) == "13812345678"


@pytest.mark.parametrize(
    "value",
    ["12812345678", "1381234567", "138123456789", "0571-8888888", "1381234567x", "+85213812345678"],
)
def test_bad_mobile_numbers_are_rejected(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_mobile(value)
    assert caught.value.code == "applicant.phone_invalid"
    assert caught.value.data["field"] == "applicant.phone"


def test_masks() -> None:
    assert mask_resident_id("640502198001011234") == "640502********1234"
    assert mask_phone("13812345678") == "138****5678"


def test_masks_never_reveal_short_values() -> None:
    assert mask_resident_id("1234567890") == "**********"
    assert mask_phone("1234567") == "*******"
