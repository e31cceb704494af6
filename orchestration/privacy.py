"""Pseudonymisation of source identifiers and masking of open answers (SPEC 6).

Identifiers are replaced by ``HMAC-SHA256(key, domain + "\\x1f" + value)`` written as 64 lowercase hex
characters. The domain tag separates kinds of id, so a dossier id and a child id that happen to share a
value never share a key. The same key and domain give the same pseudonym in every wave and extract,
which is what longitudinal linkage needs.

The same pseudonym is computed in two places, both here: :func:`pseudonymise` in Python (survey
responses, a few thousand ids) and :class:`HmacSql` in DuckDB SQL (dossier extracts, millions of ids).
They must agree bit for bit; a unit test holds them to Python's :mod:`hmac`.
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
    "team": "sofs:team:v1",
}

#: Kinds of id that may be a Belgian national register number: normalised before hashing (SPEC 3.4, 6).
REGISTER_NUMBER_KINDS = ("dossier", "child")


def pseudonymise(value: str | None, kind: str, key: bytes) -> str | None:
    """Return the pseudonym (64 hex chars) of one source identifier, or None for an empty one.

    Leading and trailing blanks are stripped first, so ``" 123"`` and ``"123"`` link. Dossier and child
    ids written as a national register number (:func:`normalise_register_number`) are reduced to their
    11 digits first, so ``85.07.30-033.28`` and ``85073003328`` give one pseudonym (SPEC 3.4, 6).

    Raises:
        KeyError: ``kind`` is not one of :data:`DOMAINS`.
    """
    domain = DOMAINS[kind]
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    if not text:
        return None
    if kind in REGISTER_NUMBER_KINDS:
        text = normalise_register_number(text)
    return hmac.new(key, f"{domain}\x1f{text}".encode("utf-8"), hashlib.sha256).hexdigest()


#: The message whose HMAC identifies a key without revealing it (:func:`key_fingerprint`). Changing it makes
#: every existing warehouse refuse its own key.
KEY_CHECK_MESSAGE = "sofs:key-check:v1"


def key_fingerprint(key: bytes) -> str:
    """``HMAC-SHA256(key, "sofs:key-check:v1")`` as 64 lowercase hex characters (SPEC 6).

    The warehouse keeps it in ``audit.key_check`` so that a load with another key is refused
    (:func:`orchestration.ingest.verify_key`): a different key would give every id another pseudonym and
    break linkage across waves. The key cannot be recovered from it.
    """
    return hmac.new(key, KEY_CHECK_MESSAGE.encode(), hashlib.sha256).hexdigest()


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


def shown_value(value: object) -> str:
    """How a source value is described in a message stored in ``audit`` or printed by a run (SPEC 6).

    Never the value itself (a name typed into a coded column, a register number, an e-mail address must
    not reach ``audit``, the run output or Dagster's run database): its length and character classes,
    e.g. ``<value withheld: 11 characters, letters and blanks>``, ``<value withheld: 10 characters,
    digits and '/'>``. Messages name file, line, column and the rule; this says what the value looks like.
    ``empty`` for None or blanks.
    """
    if value is None:
        return "empty"
    text = str(value)
    if not text.strip():
        return "empty"
    classes = []
    if any(ch.isalpha() for ch in text):
        classes.append("letters")
    if any(ch.isdigit() for ch in text):
        classes.append("digits")
    if any(ch.isspace() for ch in text):
        classes.append("blanks")
    other = sorted({ch for ch in text if not (ch.isalnum() or ch.isspace())})
    if other:
        shown = "".join(ch for ch in other if ch.isprintable() and ch.isascii())[:8]
        classes.append(f"{shown!r}" if shown else "other characters")
    what = classes[0] if len(classes) == 1 else ", ".join(classes[:-1]) + " and " + classes[-1]
    return f"<value withheld: {len(text)} character{'s' if len(text) != 1 else ''}, {what}>"


# --------------------------------------------------------------------------------------------------
# national register numbers, Excel's scientific notation, identifiers in free text (SPEC 3.4, 6)

#: An id written as a Belgian national register number: YY MM DD, a 3-digit serial, 2 check digits, each
#: group optionally separated by a blank, dot or dash (``85.07.30-033.28``, ``850730 033 28``,
#: ``85073003328``). Full match only; the pattern is also valid in DuckDB (RE2).
REGISTER_NUMBER_LAYOUT = r"[0-9]{2}[ .-]?[0-9]{2}[ .-]?[0-9]{2}[ .-]{0,2}[0-9]{3}[ .-]?[0-9]{2}"
_REGISTER_NUMBER = re.compile(REGISTER_NUMBER_LAYOUT)
#: A number as Excel shows it in scientific notation: ``8,5073E+10``, ``8.5073E+10``, ``1E+11``.
SCIENTIFIC_LAYOUT = r"[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]{1,3}"
_SCIENTIFIC = re.compile(SCIENTIFIC_LAYOUT)


def normalise_register_number(text: str) -> str:
    """The 11 digits of an id written as a national register number, else the id unchanged (SPEC 3.4, 6).

    ``"85.07.30-033.28"``, ``"85 07 30 033 28"`` and ``"85073003328"`` all give ``"85073003328"``;
    ``"DOS-2021-00017"`` stays as it is. Only the layout of :data:`REGISTER_NUMBER_LAYOUT` counts (the
    whole id, blanks at the ends stripped); the check digits are not required here
    (:func:`register_number_valid` judges them).
    """
    stripped = str(text).strip()
    if _REGISTER_NUMBER.fullmatch(stripped):
        return re.sub(r"[^0-9]", "", stripped)
    return stripped


def looks_like_register_number(text: str | None) -> bool:
    """True when ``text`` (stripped) is written as a national register number (:data:`REGISTER_NUMBER_LAYOUT`)."""
    return text is not None and bool(_REGISTER_NUMBER.fullmatch(str(text).strip()))


def register_number_valid(text: str) -> bool:
    """True when the check digits of a national register number are right (Belgian rule, SPEC 3.4).

    ``text`` is normalised first. The last two digits must equal 97 - (first 9 digits mod 97); for people
    born from 2000 on, 97 - (("2" + first 9 digits) mod 97). Either rule passing is enough (the century
    is not known from the number). Returns False for anything that is not 11 digits after normalisation.
    """
    digits = normalise_register_number(text)
    if not re.fullmatch(r"[0-9]{11}", digits):
        return False
    body, check = int(digits[:9]), int(digits[9:])
    return check in (97 - body % 97, 97 - int("2" + digits[:9]) % 97)


def is_scientific_notation(text: str | None) -> bool:
    """True when ``text`` is a number in scientific notation (``8,5073E+10``): an id that went through
    Excel, which rounds it and can make several ids one (SPEC 3.4)."""
    return text is not None and bool(_SCIENTIFIC.fullmatch(str(text).strip()))


#: The kinds of identifier :func:`identifier_kind` recognises, in the words messages use.
IDENTIFIER_KINDS = ("an e-mail address", "a phone number", "a national register number")


def identifier_kind(text: str | None) -> str | None:
    """What kind of personal identifier ``text`` holds, or None (SPEC 6).

    The patterns of :func:`mask_open_answer`: an e-mail address, a phone number (international or
    Belgian national) or a national register number in any spelling (11 digits, with or without dots,
    dashes, blanks), anywhere in the text. Returns one of :data:`IDENTIFIER_KINDS`.
    """
    if text is None:
        return None
    value = str(text)
    if _EMAIL.search(value):
        return "an e-mail address"
    if _PHONE_INTL.search(value):
        return "a phone number"
    if _NRN.search(value):
        return "a national register number"
    if _PHONE_NAT.search(value):
        return "a phone number"
    return None


# --------------------------------------------------------------------------------------------------
# the same pseudonyms in DuckDB SQL (SPEC 6): one pass over millions of ids, equal to pseudonymise()

#: The characters Python's ``str.strip()`` removes (every code point up to U+3000 for which
#: ``str.isspace()`` holds, the separators U+001C..U+001F included), for :func:`strip_sql`.
STRIP_CHARS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace() or chr(c) in "\x1c\x1d\x1e\x1f")


def strip_sql(column: str) -> str:
    """DuckDB SQL expression: ``column`` stripped as Python's ``str.strip()`` strips it; NULL when empty.

    ``column`` is a SQL expression of type VARCHAR (a column name such as ``f.team``). A value that starts
    and ends in printable ASCII (``!`` to ``~``) is returned as it is without calling ``trim`` (the common
    case, kept cheap); any other is trimmed of :data:`STRIP_CHARS`. This is the strip :func:`pseudonymise`
    applies before hashing (SPEC 6), so :class:`HmacSql` and :func:`pseudonymise` see the same text.
    """
    chars = STRIP_CHARS.replace("'", "''")
    return (f"case when ord({column}[1]) between 33 and 126 and ord({column}[-1]) between 33 and 126 "
            f"then {column} else nullif(trim({column}, '{chars}'), '') end")


class HmacSql:
    """DuckDB SQL that computes :func:`pseudonymise` of a column: the same 64 lowercase hex characters.

    ``HMAC-SHA256(key, domain + 0x1f + stripped value)`` from SQL's ``sha256`` by the construction of
    RFC 2104: HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)), where K' is the key (or its SHA-256
    when longer than the 64-byte block) padded with zero bytes to 64 bytes. Only the two padded keys
    (hex) appear in the SQL text, never the key itself. Dossier and child ids written as a national
    register number are reduced to their 11 digits first, as :func:`normalise_register_number` does.

    Args:
        key: the pseudonymisation key (bytes, any length; :func:`orchestration.settings.pseudonym_key`).
    """

    def __init__(self, key: bytes):
        k = hashlib.sha256(key).digest() if len(key) > 64 else key
        k = k.ljust(64, b"\x00")
        self.ipad = bytes(b ^ 0x36 for b in k).hex()
        self.opad = bytes(b ^ 0x5C for b in k).hex()

    def expr(self, column: str, kind: str) -> str:
        """A SQL expression (VARCHAR, NULL for a NULL or blank value) giving the pseudonym of ``column``.

        ``column`` is a VARCHAR SQL expression; ``kind`` a key of :data:`DOMAINS`.

        Raises:
            KeyError: ``kind`` is not one of :data:`DOMAINS`.
        """
        domain = DOMAINS[kind].replace("'", "''")
        value = strip_sql(column)
        if kind in REGISTER_NUMBER_KINDS:  # as normalise_register_number
            value = (f"case when regexp_full_match({value}, '{REGISTER_NUMBER_LAYOUT}') "
                     f"then regexp_replace({value}, '[^0-9]', '', 'g') else {value} end")
        inner = f"sha256(unhex('{self.ipad}') || encode('{domain}' || chr(31) || {value}))"
        return f"case when {value} is null then null else sha256(unhex('{self.opad}') || unhex({inner})) end"
