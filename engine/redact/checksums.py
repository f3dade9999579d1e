"""The check digits that tell an identifier from any run of digits: Luhn (cards), GB 11643 (Chinese IDs)."""

from __future__ import annotations

from datetime import date

# GB 11643-1999: weights 2^(17-i) mod 11 and the check character for each remainder.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """Whether ``digits`` pass the Luhn sum (ISO/IEC 7812), as every payment card number does."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def cn_id_check_char(first17: str) -> str:
    """The 18th character of a resident ID whose first 17 digits are ``first17``."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def cn_resident_id_valid(chars: str) -> bool:
    """An 18-character resident ID: 17 digits, a birth date that exists, and the right check character."""
    if len(chars) != 18 or not chars[:17].isdigit() or chars[17] not in "0123456789X":
        return False
    try:
        born = date(int(chars[6:10]), int(chars[10:12]), int(chars[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100 and cn_id_check_char(chars[:17]) == chars[17]
