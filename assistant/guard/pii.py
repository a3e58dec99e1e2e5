"""Personal data in free text: Chinese resident IDs, bank cards, phone numbers, e-mail.

Numbers are validated, not just shaped: an ID needs a real province, a real birth date and
its ISO 7064 check digit; a card needs a card-network prefix, a network length and a Luhn
check (16-digit UnionPay 62 numbers are accepted without one, as UnionPay issues some that
fail it). Pure functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

# Province-level codes, plus 81/82/83 for Hong Kong, Macao and Taiwan residence permits.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83".split()
)
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Match:
    kind: str
    start: int
    end: int
    text: str


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1880, 1, 1) <= born <= date.today()


def is_resident_id(value: str) -> bool:
    value = value.upper()
    if value[:2] not in _PROVINCES:
        return False
    # The four municipalities only ever used city codes 01 (districts) and 02 (counties).
    if value[:2] in _MUNICIPALITIES and value[2:4] not in ("01", "02"):
        return False
    if len(value) == 18 and value[:17].isdigit():
        if not _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14])):
            return False
        total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
        return _ID_CHECK[total % 11] == value[17]
    if len(value) == 15 and value.isdigit():
        return _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return False


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        number = int(char)
        if position % 2:
            number = number * 2 - 9 if number > 4 else number * 2
        total += number
    return total % 10 == 0


def _network_lengths(digits: str) -> range | tuple[int, ...]:
    first = digits[0]
    if first == "4":
        return (13, 16, 19)
    if first == "5":
        return range(12, 20)  # Mastercard 16, Maestro 12-19
    if first == "6":
        return range(14 if digits[1] == "2" else 16, 20)  # UnionPay 14-19; Discover, Maestro
    if first == "3":
        return (14, 15, 16)  # Diners, Amex, JCB
    if first == "2":
        return (16,)
    if first == "1":
        return (15,)  # UATP
    return ()


def is_card_number(digits: str) -> bool:
    if not digits.isdigit() or len(digits) not in _network_lengths(digits):
        return False
    if digits.startswith("62") and len(digits) == 16:
        return True
    return luhn_ok(digits)


_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_DIGIT_RUN = re.compile(r"(?<![\d.,])\d+(?:(?: {1,3}|-)\d+)*(?![\d]|[.,]\d)")
_GROUP = re.compile(r"\d+")
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_PHONE_PATTERNS = (
    re.compile(r"(?<![\d-])0\d{2,3}-?[2-9]\d{6,7}(?![\d-])"),  # CN landline with area code
    re.compile(r"(?<![\d.,¥$￥-])[2-8]\d{7}(?![\d.,%万元])"),  # CN 8-digit local number
    re.compile(r"(?<![\w+])\+\d{1,3}[ -]?\(?\d{1,4}\)?(?:[ -]?\d{2,5}){2,4}(?!\d)"),
    re.compile(r"(?<![\d)])\(\d{3}\) ?\d{3}-\d{4}(?!\d)"),
    re.compile(r"(?<![\d-])\d{3}-\d{3}-\d{4}(?![\d-])"),
    re.compile(r"(?<![\d-])0\d{1,2}-\d{3,4}-?\d{4}(?![\d-])"),
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def find_resident_ids(text: str) -> Iterator[Match]:
    for m in _ID_CANDIDATE.finditer(text):
        if is_resident_id(m.group(1)):
            yield Match("cn_resident_id", m.start(1), m.end(1), m.group(1))


def find_card_numbers(text: str) -> Iterator[Match]:
    """Cards written whole or in groups ("6222 0200 1234 5678"); several in one run of digits
    are found separately, longest valid number first."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [
            (g.start() + run.start(), g.end() + run.start(), g.group())
            for g in _GROUP.finditer(run.group())
        ]
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                digits = "".join(g[2] for g in groups[i : j + 1])
                if 12 <= len(digits) <= 19 and is_card_number(digits):
                    yield Match(
                        "bank_card", groups[i][0], groups[j][1], text[groups[i][0] : groups[j][1]]
                    )
                    i = j
                    break
            i += 1


def find_mobiles(text: str) -> Iterator[Match]:
    for m in _MOBILE.finditer(text):
        yield Match("cn_mobile", m.start(), m.end(), m.group())


def find_landlines(text: str) -> Iterator[Match]:
    for pattern in _PHONE_PATTERNS:
        for m in pattern.finditer(text):
            yield Match("cn_landline", m.start(), m.end(), m.group())


def find_emails(text: str) -> Iterator[Match]:
    for m in _EMAIL.finditer(text):
        yield Match("email", m.start(), m.end(), m.group())


FINDERS: dict[str, Callable[[str], Iterator[Match]]] = {
    "cn_resident_id": find_resident_ids,
    "bank_card": find_card_numbers,
    "cn_mobile": find_mobiles,
    "cn_landline": find_landlines,
    "email": find_emails,
}


def find_pii(text: str, kinds: Sequence[str]) -> list[Match]:
    """Non-overlapping matches; earlier kinds in `kinds` win where two overlap."""
    taken: list[Match] = []
    for kind in kinds:
        for match in FINDERS[kind](text):
            if all(match.end <= t.start or match.start >= t.end for t in taken):
                taken.append(match)
    return sorted(taken, key=lambda m: m.start)


def mask(text: str, matches: list[Match], labels: Mapping[str, str]) -> str:
    out, cursor = [], 0
    for match in matches:
        out.append(text[cursor : match.start])
        out.append(labels[match.kind])
        cursor = match.end
    out.append(text[cursor:])
    return "".join(out)
