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


# Belgian national register number: YY.MM.DD-XXX.CC, 11 digits, dots and dashes optional.
_NRN = re.compile(r"(?<!\d)\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[.\s]?\d{2}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Belgian phone numbers: +32 or 0032 or 0 followed by 8-9 digits, with blanks, dots, slashes or dashes.
_PHONE = re.compile(r"(?<![\w+])(?:\+32|0032|0)[\s./-]?(?:\(0\)[\s./-]?)?\d(?:[\s./-]?\d){7,8}(?!\d)")


def mask_open_answer(text: str | None) -> str | None:
    """Mask e-mail addresses, Belgian national register numbers and phone numbers (SPEC 6).

    Replacements are ``[e-mail]``, ``[rijksregisternummer]`` and ``[telefoon]``. Other text is kept.
    """
    if text is None:
        return None
    masked = _EMAIL.sub("[e-mail]", str(text))
    masked = _NRN.sub("[rijksregisternummer]", masked)
    masked = _PHONE.sub("[telefoon]", masked)
    return masked
