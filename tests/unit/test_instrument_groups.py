"""Instrument definitions: respondent_group, region and scaling questions (SPEC 3.3), on hand-written YAML."""
from __future__ import annotations

import pytest

from orchestration.instruments import InstrumentError, load_instrument

BASE = """
instrument: groups_check
population: partner
dossier_key: DOSSIER
answer_schemes:
  kind2: {nominal: true, labels: {1: school, 2: politie}}
  region: {nominal: true, labels: {1: Antwerpen, 2: Limburg}}
  safe: {kind: scaling, anchors: {0: helemaal niet veilig, 10: veilig}}
  agree3: {labels: {1: nee, 2: soms, 3: ja}}
constructs:
  trust: {label: Vertrouwen}
items:
  - {item: partner_type, role: attribute, scheme: kind2, source: TYPE}
  - {item: region, role: attribute, scheme: region, source: REGIO}
  - {item: safe_now, scheme: safe, source: VEILIG}
  - {item: trust_1, scheme: agree3, construct: trust, source: T1}
  - {item: own_scale, scheme: agree3, kind: scaling, anchors: {1: weinig, 3: veel}, source: T2}
"""


def load(tmp_path, extra: str = ""):
    path = tmp_path / "groups_check.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_instrument(path)


def test_group_region_and_scaling_are_read(tmp_path):
    inst = load(tmp_path, "respondent_group: {item: partner_type, codes: {1: school, 2: police}}\nregion: {item: region}\n")
    assert inst.respondent_group.item == "partner_type"
    assert inst.respondent_group.codes == {1.0: "school", 2.0: "police"}
    assert inst.region.item == "region" and not inst.region.dossier
    safe = inst.item("safe_now")
    assert safe.measure_kind == "scaling" and (safe.scheme.min, safe.scheme.max) == (0.0, 10.0)
    assert safe.scale_anchors == {0.0: "helemaal niet veilig", 10.0: "veilig"}
    own = inst.item("own_scale")
    assert own.measure_kind == "scaling" and own.scale_anchors == {1.0: "weinig", 3.0: "veel"}
    assert inst.item("trust_1").measure_kind is None
    # kind and anchors are not part of the coding: adding them recodes nothing (SPEC 3.3)
    plain = load_instrument_text(tmp_path, BASE.replace(
        "safe: {kind: scaling, anchors: {0: helemaal niet veilig, 10: veilig}}", "safe: {min: 0, max: 10}"))
    assert plain.item("safe_now").scheme.coding_fingerprint() == safe.scheme.coding_fingerprint()


def load_instrument_text(tmp_path, text: str):
    path = tmp_path / "groups_check.yaml"
    path.write_text(text, encoding="utf-8")
    return load_instrument(path)


def test_short_forms(tmp_path):
    inst = load(tmp_path, "respondent_group: partner_type\nregion: dossier\n")
    assert inst.respondent_group.item == "partner_type" and inst.respondent_group.codes == {}
    assert inst.region.dossier and inst.region.item is None
    inst = load(tmp_path, "respondent_group: {label: netwerkpartner}\n")
    assert inst.respondent_group.item is None and inst.respondent_group.label == "netwerkpartner"
    assert inst.region is None


@pytest.mark.parametrize("extra, message", [
    ("respondent_group: {item: trust_1}\n", "role: attribute"),
    ("respondent_group: {item: nowhere}\n", "unknown item"),
    ("region: {item: safe_now}\n", "role: attribute"),
    ("region: somewhere\n", "region must be"),
    ("respondent_group: {item: partner_type, colours: {1: red}}\n", "respondent_group must be"),
])
def test_bad_declarations_are_refused(tmp_path, extra, message):
    with pytest.raises(InstrumentError, match=message):
        load(tmp_path, extra)


def test_region_dossier_needs_a_dossier_key(tmp_path):
    with pytest.raises(InstrumentError, match="dossier_key"):
        load_instrument_text(tmp_path, BASE.replace("dossier_key: DOSSIER\n", "") + "region: dossier\n")


def test_scaling_must_be_numeric(tmp_path):
    with pytest.raises(InstrumentError, match="kind must be one of"):
        load_instrument_text(tmp_path, BASE.replace("kind: scaling, anchors", "kind: slider, anchors"))
    with pytest.raises(InstrumentError, match="numeric"):
        load_instrument_text(tmp_path, BASE.replace("  safe: {kind: scaling,", "  safe: {kind: scaling, nominal: true,"))
