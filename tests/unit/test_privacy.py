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
