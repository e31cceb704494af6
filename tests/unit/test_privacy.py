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
    ("Brugge", "'Brugge'"), ("13/25/2023", "'13/25/2023'"), ("A7", "'A7'"), ("", "empty"), (None, "empty"),
    ("85.07.30-033.28", "<value withheld, 15 characters>"),
    ("an.de.smet@ocj.vlaanderen.be", "<value withheld, 28 characters>"),
    ("D-123456", "<value withheld, 8 characters>"),
])
def test_shown_value_withholds_what_may_identify(value, shown):
    from orchestration.privacy import shown_value
    assert shown_value(value) == shown
