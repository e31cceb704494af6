"""Pseudonymisation and masking (SPEC 6)."""
from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from orchestration import settings
from orchestration.privacy import DOMAINS, mask_open_answer, pseudonymise, pseudonymise_series

KEY = b"k" * 32


def test_pseudonym_is_hmac_sha256_with_domain_tag():
    expected = hmac.new(KEY, b"sofs:respondent-token:v1\x1fabc123", hashlib.sha256).hexdigest()
    assert pseudonymise("abc123", "respondent", KEY) == expected
    assert pseudonymise(" abc123 ", "respondent", KEY) == expected


def test_domains_separate_kinds_and_keys_matter():
    assert pseudonymise("42", "dossier", KEY) != pseudonymise("42", "child", KEY)
    assert pseudonymise("42", "dossier", KEY) != pseudonymise("42", "dossier", b"x" * 32)
    assert len(set(DOMAINS.values())) == len(DOMAINS)


def test_series_keeps_nulls_and_empties_as_none():
    out = pseudonymise_series(pd.Series(["a", None, "", "a"]), "respondent", KEY)
    assert out[0] == out[3] == pseudonymise("a", "respondent", KEY)
    assert out[1] is None and out[2] is None


def test_missing_or_short_key_stops_with_clear_message(monkeypatch):
    monkeypatch.delenv("SOFS_PSEUDONYM_KEY", raising=False)
    with pytest.raises(settings.ConfigurationError, match="SOFS_PSEUDONYM_KEY is not set"):
        settings.pseudonym_key()
    monkeypatch.setenv("SOFS_PSEUDONYM_KEY", "short")
    with pytest.raises(settings.ConfigurationError, match="at least 32"):
        settings.pseudonym_key()


@pytest.mark.parametrize("text,expected", [
    ("Mijn rijksregisternummer is 85.07.30-033.28, echt.", "Mijn rijksregisternummer is [rijksregisternummer], echt."),
    ("nummer 85073003328 hier", "nummer [rijksregisternummer] hier"),
    ("Mail jan.peeters@example.be of bel +32 470 12 34 56 aub",
     "Mail [e-mail] of bel [telefoon] aub"),
    ("Bel 0470/12.34.56 of 09 123 45 67.", "Bel [telefoon] of [telefoon]."),
    ("Score 7 op 10, 3 gesprekken in 2023", "Score 7 op 10, 3 gesprekken in 2023"),
])
def test_masking(text, expected):
    assert mask_open_answer(text) == expected


@pytest.mark.parametrize("text", [
    "850730-033-28", "850730033-28", "85.07.30-033-28", "85 07 30 033 28", "(0470) 12 34 56", "0470 - 12 34 56",
    "gsm0470123456", "+31 6 12345678", "+33 6 12 34 56 78", "+32470123456", "00 32 470 12 34 56",
    "0032 470 12 34 56", "09/123.45.67", "jan@localhost", "jän@öcj.be", "an.de.smet@ocj.vlaanderen.be",
])
def test_masking_leaves_no_digits_or_address(text):
    masked = mask_open_answer(f"zie {text} aub")
    assert not any(ch.isdigit() for ch in masked), masked
    assert "@" not in masked, masked


@pytest.mark.parametrize("value,shown", [
    ("Brugge", "<value withheld: 6 characters, letters>"),
    ("13/25/2023", "<value withheld: 10 characters, digits and '/'>"),
    ("A7", "<value withheld: 2 characters, letters and digits>"), ("", "empty"), (None, "empty"),
    ("Jan Peeters", "<value withheld: 11 characters, letters and blanks>"),
    ("85.07.30-033.28", "<value withheld: 15 characters, digits and '-.'>"),
    ("an.de.smet@ocj.vlaanderen.be", "<value withheld: 28 characters, letters and '.@'>"),
    ("D-123456", "<value withheld: 8 characters, letters, digits and '-'>"),
])
def test_shown_value_never_echoes_the_value(value, shown):
    """SPEC 6: a message says what a value looks like (length, character classes), never the value."""
    from orchestration.privacy import shown_value
    assert shown_value(value) == shown


# A register number computed by hand: 850730033 = 97 * 8770412 + 69, 97 - 69 = 28 -> 85073003328 (born 1985).
# Born from 2000: 2050314124 = 97 * 21137259 + 1, 97 - 1 = 96 -> 05031412496 (the pre-2000 rule gives
# 97 - (50314124 mod 97) = 97 - 30 = 67, so 68 fails both).
@pytest.mark.parametrize("text,digits,valid", [
    ("85073003328", "85073003328", True), ("85.07.30-033.28", "85073003328", True),
    ("85 07 30 033 28", "85073003328", True), ("850730-033-28", "85073003328", True),
    ("05.03.14-124.96", "05031412496", True), ("05.03.14-124.68", "05031412468", False),
    ("85.07.30-033.27", "85073003327", False),
    ("DOS-2021-00017", "DOS-2021-00017", False), ("8507300332", "8507300332", False),
])
def test_register_numbers_normalised_and_check_digits(text, digits, valid):
    from orchestration.privacy import normalise_register_number, register_number_valid
    assert normalise_register_number(text) == digits
    assert register_number_valid(text) is valid


def test_one_child_one_key_whatever_the_spelling():
    keys = {pseudonymise(t, "child", KEY) for t in ("85073003328", "85.07.30-033.28", " 85 07 30 033 28 ")}
    assert len(keys) == 1
    assert keys == {hmac.new(KEY, b"sofs:child-id:v1\x1f85073003328", hashlib.sha256).hexdigest()}
    # other kinds of id are hashed as written
    assert pseudonymise("85.07.30-033.28", "respondent", KEY) != pseudonymise("85073003328", "respondent", KEY)


@pytest.mark.parametrize("text,scientific", [
    ("8,5073E+10", True), ("8.5073E+10", True), ("1E+11", True), ("8.5073e10", True),
    ("85073003328", False), ("E10", False), ("DOS-1E5", False),
])
def test_scientific_notation(text, scientific):
    from orchestration.privacy import is_scientific_notation
    assert is_scientific_notation(text) is scientific


@pytest.mark.parametrize("text,kind", [
    ("Team Noord", None), ("Kortrijk – Roeselare", None), ("doelen_bereikt", None),
    ("an.de.smet@ocj.vlaanderen.be", "an e-mail address"), ("bel 0470 12 34 56", "a phone number"),
    ("Jan 85.07.30-033.28", "a national register number"), ("+32 470 12 34 56", "a phone number"),
])
def test_identifier_kind(text, kind):
    from orchestration.privacy import identifier_kind
    assert identifier_kind(text) == kind


def test_yes_no_codes_stay_strings():
    from orchestration.instruments import load_yaml
    doc = load_yaml("codes: {Yes: 1, No: 0, on: 2, OFF: 3}\nanonymised: true\nother: False")
    assert doc == {"codes": {"Yes": 1, "No": 0, "on": 2, "OFF": 3}, "anonymised": True, "other": False}


# --- the same pseudonyms in DuckDB SQL (privacy.HmacSql, privacy.strip_sql) ------------------------

def _sql_pseudonyms(values, kind, key):
    import duckdb

    from orchestration.privacy import HmacSql

    con = duckdb.connect()
    try:
        con.execute("create table t (i integer, v varchar)")
        con.executemany("insert into t values (?, ?)", list(enumerate(values)))
        return [r[0] for r in con.execute(f"select {HmacSql(key).expr('v', kind)} from t order by i").fetchall()]
    finally:
        con.close()


def _expected(text, kind, key):
    """HMAC-SHA256 from Python's hmac module over the text as SPEC 6 says it is hashed."""
    return hmac.new(key, f"{DOMAINS[kind]}\x1f{text}".encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("key", [b"k" * 32, b"x" * 64, b"a-key-longer-than-one-sha256-block-" * 3],
                         ids=["short key", "64-byte key", "key longer than the block"])
def test_hmac_in_sql_equals_hmac_in_python(key):
    values = ["D-0001", "  D-0001\t", "é-ü-ß", "it's", None, "", "   ", "\u3000x\u3000"]
    expected = [_expected("D-0001", "placement", key), _expected("D-0001", "placement", key),
                _expected("é-ü-ß", "placement", key), _expected("it's", "placement", key), None, None, None,
                _expected("x", "placement", key)]
    assert _sql_pseudonyms(values, "placement", key) == expected


def test_hmac_in_sql_reduces_register_numbers_for_dossier_and_child_only():
    key = b"k" * 32
    spellings = ["85.07.30-033.28", "85 07 30 033 28", "85073003328"]
    assert _sql_pseudonyms(spellings, "child", key) == [_expected("85073003328", "child", key)] * 3
    assert _sql_pseudonyms(spellings[:1], "placement", key) == [_expected("85.07.30-033.28", "placement", key)]


def test_strip_sql_strips_what_python_strips():
    import duckdb

    from orchestration.privacy import strip_sql

    values = ["abc", " abc ", "\x1cabc\x1f", "\u00a0abc\u2003", "a b", "   ", ""]
    con = duckdb.connect()
    try:
        con.execute("create table t (i integer, v varchar)")
        con.executemany("insert into t values (?, ?)", list(enumerate(values)))
        got = [r[0] for r in con.execute(f"select {strip_sql('v')} from t order by i").fetchall()]
    finally:
        con.close()
    assert got == ["abc", "abc", "abc", "abc", "a b", None, None]


def test_key_fingerprint_is_hmac_of_the_key_check_message():
    from orchestration.privacy import key_fingerprint

    expected = hmac.new(b"k" * 32, b"sofs:key-check:v1", hashlib.sha256).hexdigest()
    assert key_fingerprint(b"k" * 32) == expected
    assert key_fingerprint(b"j" * 32) != expected
