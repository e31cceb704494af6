"""Pseudonymisation of source identifiers and masking of open answers (SPEC 6).

Identifiers are replaced by ``HMAC-SHA256(key, domain + "\\x1f" + value)`` written as 64 lowercase hex
characters. The domain tag separates kinds of id, so a dossier id and a child id that happen to share a
value never share a key. The same key and domain give the same pseudonym in every wave and extract,
which is what longitudinal linkage needs.
"""
from __future__ import annotations

import hashlib
import hmac
import re

import pandas as pd

#: Domain tags, one per kind of source identifier. Changing one breaks linkage with earlier loads.
DOMAINS = {
    "respondent": "sofs:respondent-token:v1",
    "response": "sofs:survey-response:v1",
    "dossier": "sofs:dossier-id:v1",
    "child": "sofs:child-id:v1",
    "placement": "sofs:placement-id:v1",
    "event": "sofs:practice-event-id:v1",
}


def pseudonymise(value: str | None, kind: str, key: bytes) -> str | None:
    """Return the pseudonym (64 hex chars) of one source identifier, or None for an empty one.

    Leading and trailing blanks are stripped first, so ``" 123"`` and ``"123"`` link.

    Raises:
        KeyError: ``kind`` is not one of :data:`DOMAINS`.
    """
    domain = DOMAINS[kind]
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    if not text:
        return None
    return hmac.new(key, f"{domain}\x1f{text}".encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymise_series(values: pd.Series, kind: str, key: bytes) -> pd.Series:
    """Vectorised :func:`pseudonymise` over a Series; returns an object Series, None where empty."""
    cache: dict[str, str | None] = {}

    def one(v: object) -> str | None:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return None
        text = str(v)
        if text not in cache:
            cache[text] = pseudonymise(text, kind, key)
        return cache[text]

    return pd.Series([one(v) for v in values], index=values.index, dtype="object")


_SEP = r"[\s./-]{0,3}"
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*")
# International phone numbers: + or 00, country code, 7 to 12 more digits with separators or (0).
_PHONE_INTL = re.compile(r"(?<![\d+])(?:\+|00[\s]?)\d{1,3}" + _SEP + r"(?:\(0\)" + _SEP + r")?\d(?:" + _SEP
                         + r"\d){6,11}(?!\d)")
# Belgian national register number: YY.MM.DD-XXX.CC, 11 digits; dots, dashes and blanks anywhere between groups.
_NRN = re.compile(r"(?<!\d)\d{2}[\s.-]?\d{2}[\s.-]?\d{2}[\s.-]{0,2}\d{3}[\s.-]?\d{2}(?!\d)")
# National phone numbers: 0 and 8 or 9 more digits, with blanks, dots, slashes, dashes or brackets.
_PHONE_NAT = re.compile(r"(?<!\d)\(?0\d" + r"(?:\)?" + _SEP + r"\d){7,8}(?!\d)")


def mask_open_answer(text: str | None) -> str | None:
    """Mask e-mail addresses, phone numbers and Belgian national register numbers (SPEC 6).

    Replacements are ``[e-mail]``, ``[telefoon]`` and ``[rijksregisternummer]``. Other text is kept.
    International numbers are masked first (so ``+32470123456`` is a phone number), then 11-digit
    national register numbers in any spelling, then national phone numbers.
    """
    if text is None:
        return None
    masked = _EMAIL.sub("[e-mail]", str(text))
    masked = _PHONE_INTL.sub("[telefoon]", masked)
    masked = _NRN.sub("[rijksregisternummer]", masked)
    masked = _PHONE_NAT.sub("[telefoon]", masked)
    return masked


_CODE_LIKE = re.compile(r"^[\w .:'/-]{0,24}$")


def shown_value(value: object) -> str:
    """How a source value may appear in a message stored in ``audit`` or printed by a run.

    Messages name file, line and column; the value itself only when it looks like a code or a date
    (at most 24 characters, no run of 5 or more digits, nothing masking would change). Anything else
    may be an identifier or personal text and is withheld: ``<value withheld, N characters>``.
    """
    if value is None:
        return "empty"
    text = str(value)
    if not text.strip():
        return "empty"
    if _CODE_LIKE.match(text) and not re.search(r"\d{5,}", text) and mask_open_answer(text) == text:
        return repr(text)
    return f"<value withheld, {len(text)} characters>"
