"""Answer-scheme versions per wave (SPEC 3.3): item scheme maps, codings and fingerprints, the
comparison of a definition with the schemes loaded waves were decoded with, and the refusal message."""
from __future__ import annotations

import pytest

from orchestration import landing, schemes, settings
from orchestration.instruments import InstrumentError
from orchestration.readers.limesurvey import read_limesurvey_csv
from tests.conftest import TEST_KEY
from tests.helpers import HEADER, MINI_INSTRUMENT, mini_instrument, write_export, write_survey_partition

AGREE5 = """  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}"""
# a second version of agree5 with A2 and A3 swapped, and plan_known / manager_support on it from w2 on
VERSIONED = MINI_INSTRUMENT.replace(AGREE5, AGREE5 + """
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
  agree5_v2:
    codes: {A1: 1, A2: 3, A3: 2, A4: 4, A5: 5}""").replace(
    "    scheme: agree5\n", "    scheme: {w1: agree5, default: agree5_v2}\n")
SWAPPED = MINI_INSTRUMENT.replace("A2: 2, A3: 3", "A2: 3, A3: 2")
RELABELLED = MINI_INSTRUMENT.replace("3: neutraal", "3: neutraal / geen mening")
ROWS = [["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokSecretA", "A3", "A2", "7", "1", "", "301"],
        ["2", "2021-05-04 10:11:12", "3", "nl", "1", "tokSecretB", "A5", "-9", "9", "2", "", "40"]]


def test_item_scheme_map_resolves_per_wave(tmp_path):
    inst = mini_instrument(tmp_path, VERSIONED)
    w1, w2 = inst.for_wave("w1"), inst.for_wave("w2")
    assert w1.item("plan_known").scheme.name == "agree5" and w2.item("plan_known").scheme.name == "agree5_v2"
    assert w1.item("plan_known").scheme.recode("A3") == (3.0, None, True)
    assert w2.item("plan_known").scheme.recode("A3") == (2.0, None, True)
    assert w2.item("manager_support").scheme.recode("A2") == (3.0, None, True)
    assert w2.item("attitude").scheme.name == "score1_10"  # items without a map keep their scheme
    assert inst.item("plan_known").scheme.name == "agree5_v2"  # unresolved: the default version
    assert w2.for_wave("w2") == w2


def test_reader_decodes_each_wave_with_its_version(tmp_path):
    inst = mini_instrument(tmp_path, VERSIONED)
    data = write_export(tmp_path / "r.csv", [HEADER, *ROWS])
    by_wave = {}
    for wave in ("w1", "w2"):
        read = read_limesurvey_csv(data, inst, wave)  # an unresolved instrument: the reader resolves it
        by_wave[wave] = sorted(zip(read.answers["item"], read.answers["raw_code"], read.answers["value"]))
    assert [r for r in by_wave["w1"] if r[0] == "plan_known"] == [("plan_known", "A3", 3.0), ("plan_known", "A5", 5.0)]
    assert [r for r in by_wave["w2"] if r[0] == "plan_known"] == [("plan_known", "A3", 2.0), ("plan_known", "A5", 5.0)]


def test_scheme_map_without_the_wave_or_default_is_an_error(tmp_path):
    inst = mini_instrument(tmp_path, VERSIONED.replace("{w1: agree5, default: agree5_v2}", "{w1: agree5, w3: agree5_v2}"))
    assert inst.for_wave("w3").item("plan_known").scheme.name == "agree5_v2"
    with pytest.raises(InstrumentError, match="item 'plan_known' has no answer scheme for wave 'w2'"):
        inst.for_wave("w2")
    with pytest.raises(InstrumentError, match="unknown answer scheme 'agree6' for wave 'w1'"):
        mini_instrument(tmp_path, VERSIONED.replace("{w1: agree5,", "{w1: agree6,"))


def test_coding_fingerprint_ignores_labels_only(tmp_path):
    base = mini_instrument(tmp_path).schemes["agree5"]
    relabelled = mini_instrument(tmp_path, RELABELLED).schemes["agree5"]
    reason = mini_instrument(tmp_path, MINI_INSTRUMENT.replace('"-9": weet niet', '"-9": weet het niet')).schemes["agree5"]
    swapped = mini_instrument(tmp_path, SWAPPED).schemes["agree5"]
    missing = mini_instrument(tmp_path, MINI_INSTRUMENT.replace('"-9": weet niet', '"-9": weet niet, "-8": geen antwoord'))
    assert relabelled.coding_fingerprint() == base.coding_fingerprint() != relabelled.fingerprint() != base.fingerprint()
    assert reason.coding_fingerprint() == base.coding_fingerprint() and reason.fingerprint() != base.fingerprint()
    assert swapped.coding_fingerprint() != base.coding_fingerprint()
    assert missing.schemes["agree5"].coding_fingerprint() != base.coding_fingerprint()
    assert base.coding() == {"codes": {"A1": 1.0, "A2": 2.0, "A3": 3.0, "A4": 4.0, "A5": 5.0},
                             "values": [1.0, 2.0, 3.0, 4.0, 5.0], "missing": ["-9"], "min": 1.0, "max": 5.0,
                             "nominal": False, "text": False}


def test_coding_and_label_differences_in_words(tmp_path):
    base = mini_instrument(tmp_path)
    swapped = mini_instrument(tmp_path, SWAPPED.replace('"-9": weet niet', '"-8": geen antwoord'))
    assert schemes.coding_diff(base.schemes["agree5"].coding(), swapped.schemes["agree5"].coding()) == [
        "code A2 now value 3, was 2", "code A3 now value 2, was 3", "missing code -9 removed",
        "missing code -8 added"]
    wider = mini_instrument(tmp_path, MINI_INSTRUMENT.replace("{min: 1, max: 10}", "{min: 0, max: 10}"))
    assert schemes.coding_diff(base.schemes["score1_10"].coding(), wider.schemes["score1_10"].coding()) == [
        "values now 0..10, were 1..10"]
    relabelled = mini_instrument(tmp_path, RELABELLED)
    assert schemes.label_diff(base.schemes["agree5"].label_texts(), relabelled.schemes["agree5"].label_texts()) == [
        "label of value 3 now 'neutraal / geen mening', was 'neutraal'"]


def test_repo_instruments_resolve_unchanged_for_any_wave():
    from orchestration.instruments import load_all
    for inst in load_all().values():
        resolved = inst.for_wave("2099")
        assert [it.scheme for it in resolved.items] == [it.scheme for it in inst.items], inst.instrument


@pytest.fixture
def loaded_w1(tmp_path):
    """A warehouse with wave w1 of the mini instrument loaded (scheme records written as the ingest does)."""
    inst = mini_instrument(tmp_path)
    folder = tmp_path / "landing" / "surveys" / "mini_survey" / "w1"
    data = write_export(folder / "responses.csv", [HEADER, *ROWS])
    part = landing.Partition("survey", "mini_survey/w1", folder, (data,))
    wh = tmp_path / "wh.duckdb"
    write_survey_partition(wh, part, inst, read_limesurvey_csv(data, inst, "w1"),
                           {"fieldwork_start": None, "fieldwork_end": None, "anonymised": None}, TEST_KEY.encode())
    import duckdb
    con = duckdb.connect(str(wh), read_only=True)
    yield tmp_path, con
    con.close()


def test_edited_coding_of_a_used_scheme_is_refused_with_what_changed(loaded_w1):
    tmp_path, con = loaded_w1
    changes = schemes.find_changes(con, {"mini_survey": mini_instrument(tmp_path, SWAPPED)})
    assert [(c.instrument, c.scheme, c.new_scheme, c.kind, c.waves, c.items) for c in changes] == [
        ("mini_survey", "agree5", "agree5", "coding", ("w1",), ("manager_support", "plan_known"))]
    assert changes[0].details == ("code A2 now value 3, was 2", "code A3 now value 2, was 3")
    with pytest.raises(settings.ConfigurationError) as err:
        schemes.refuse_recoding(changes)
    message = str(err.value)
    assert ("instrument mini_survey, scheme agree5, used by loaded wave w1 (items manager_support, plan_known): "
            "code A2 now value 3, was 2; code A3 now value 2, was 3") in message
    assert "agree5_v2" in message and '`scheme: {"w1": agree5, default: agree5_v2}`' in message
    assert "tokSecret" not in message


def test_mapping_a_loaded_wave_to_another_coding_is_refused(loaded_w1):
    tmp_path, con = loaded_w1
    remapped = VERSIONED.replace("{w1: agree5, default: agree5_v2}", "{default: agree5_v2}")
    changes = schemes.find_changes(con, {"mini_survey": mini_instrument(tmp_path, remapped)})
    assert [(c.scheme, c.new_scheme, c.kind) for c in changes] == [("agree5", "agree5_v2", "coding")]
    assert "loaded with scheme agree5, now mapped to scheme agree5_v2" in changes[0].describe()


def test_a_declared_new_version_and_a_labels_only_edit_pass(loaded_w1):
    tmp_path, con = loaded_w1
    assert schemes.find_changes(con, {"mini_survey": mini_instrument(tmp_path, VERSIONED)}) == []
    changes = schemes.find_changes(con, {"mini_survey": mini_instrument(tmp_path, RELABELLED)})
    assert [(c.kind, c.waves, c.details) for c in changes] == [
        ("labels", ("w1",), ("label of value 3 now 'neutraal / geen mening', was 'neutraal'",))]
    schemes.refuse_recoding(changes)  # labels only: no error


def test_waves_loaded_without_a_scheme_record_are_due_once(tmp_path):
    import duckdb

    from orchestration import warehouse
    wh = tmp_path / "old.duckdb"
    con = duckdb.connect(str(wh))  # the raw.survey_items of a warehouse made before scheme records
    con.execute("""create schema raw; create table raw.survey_items (partition_key varchar, instrument varchar,
                   wave varchar, item varchar, scheme varchar)""")
    con.execute("insert into raw.survey_items values ('mini_survey/w1', 'mini_survey', 'w1', 'plan_known', 'agree5')")
    assert schemes.unrecorded_partitions(con) == {"mini_survey/w1"}
    assert schemes.find_changes(con, {"mini_survey": mini_instrument(tmp_path, SWAPPED)}) == []  # nothing to compare
    con.close()
    with warehouse.write_connection(wh) as con:  # the layout adds the record columns (null for the old rows)
        assert schemes.unrecorded_partitions(con) == {"mini_survey/w1"}
        con.execute("update raw.survey_items set coding_fingerprint = 'x'")
        assert schemes.unrecorded_partitions(con) == set()
