"""Instrument definitions (SPEC 3.3): loading, recoding, column normalisation, validation."""
from __future__ import annotations

import pytest

from orchestration.instruments import InstrumentError, load_instrument, normalise_column
from tests.helpers import MINI_INSTRUMENT, mini_instrument


@pytest.mark.parametrize("name", ["L2[SQ001]", "L2_SQ001", "l2_sq001", "L2.SQ001.", "\ufeffL2[SQ001]"])
def test_column_forms_normalise_to_one_key(name):
    assert normalise_column(name) == "L2_SQ001"


def test_recode_codes_missing_and_ranges(tmp_path):
    inst = mini_instrument(tmp_path)
    agree = inst.schemes["agree5"]
    assert agree.recode("A3") == (3.0, None, True)
    assert agree.recode("-9") == (None, "weet niet", True)
    assert agree.recode("A6") == (None, None, False)
    assert agree.recode("3") == (None, None, False)  # codes are A1..A5, not the values
    score = inst.schemes["score1_10"]
    assert score.values() == [float(v) for v in range(1, 11)]
    assert score.recode("10") == (10.0, None, True)
    assert score.recode("0") == (None, None, False)
    func = inst.schemes["function"]
    assert func.recode("2") == (2.0, None, True) and func.recode("3") == (None, None, False)


def test_scheme_signature_changes_with_meaning(tmp_path):
    inst = mini_instrument(tmp_path)
    changed = mini_instrument(tmp_path, MINI_INSTRUMENT.replace("3: neutraal", "3: weet niet goed"))
    assert inst.schemes["agree5"].signature() != changed.schemes["agree5"].signature()
    assert inst.schemes["score1_10"].signature() == changed.schemes["score1_10"].signature()


def test_moved_source_column(tmp_path):
    inst = mini_instrument(tmp_path, MINI_INSTRUMENT.replace('source: ATT', 'source: {"2021": ATT, "2023": ATT2}'))
    assert "ATT" in inst.columns_for("2021") and "ATT2" in inst.columns_for("2023")
    assert inst.columns_for("2023")["ATT2"].item == "attitude"


@pytest.mark.parametrize("change,message", [
    ("scheme: score1_10", "unknown answer scheme"),
    ("construct: leadership", "unknown construct"),
    ("source: ATT", "both read column"),
])
def test_invalid_definitions_name_the_problem(tmp_path, change, message):
    broken = {
        "scheme: score1_10": MINI_INSTRUMENT.replace("scheme: score1_10", "scheme: score0_10"),
        "construct: leadership": MINI_INSTRUMENT.replace("construct: leadership\n    reverse", "construct: leiding\n    reverse"),
        "source: ATT": MINI_INSTRUMENT.replace("source: FUNCTIE", "source: ATT"),
    }[change]
    with pytest.raises(InstrumentError, match=message):
        mini_instrument(tmp_path, broken)


def test_repo_instruments_load():
    from orchestration import settings
    paths = sorted(settings.instruments_dir().glob("*.yaml"))
    assert paths, "no instrument definitions in data/instruments"
    for p in paths:
        assert load_instrument(p).items


def test_scheme_values_are_plain_whole_numbers(tmp_path):
    score = mini_instrument(tmp_path).schemes["score1_10"]
    assert score.recode("3.0") == (3.0, None, True) and score.recode("3,0") == (3.0, None, True)
    for loose in ("3.5", "1e1", "0x3", "inf"):
        assert score.recode(loose) == (None, None, False), loose


@pytest.mark.parametrize("population", ["leader", "partner", "network", "auditor", "staff_2"])
def test_any_respondent_group_is_a_population(tmp_path, population):
    """SPEC 3.3: population names who answers; new groups need no code change."""
    inst = mini_instrument(tmp_path, MINI_INSTRUMENT.replace("population: staff", f"population: {population}"))
    assert inst.population == population


@pytest.mark.parametrize("population", ["Leader", "team leaders", "1st", ""])
def test_a_population_that_is_not_a_name_is_refused(tmp_path, population):
    with pytest.raises(InstrumentError, match="population must be a group name"):
        mini_instrument(tmp_path, MINI_INSTRUMENT.replace("population: staff", f"population: '{population}'"))
