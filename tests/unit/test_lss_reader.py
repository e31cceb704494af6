"""LimeSurvey ``.lss`` structure files: both layouts, sub-questions, single-row tables, label checks."""
from __future__ import annotations

import pytest

from orchestration.instruments import load_instrument
from orchestration.readers.base import ReaderError
from orchestration.readers.lss import compare_labels, read_lss

INSTRUMENT_YAML = """\
instrument: client_feedback
title: Feedback van ouders en netwerk
population: client
respondent_key: token
dossier_key: DOSSIER
answer_schemes:
  agree5:
    codes: {A1: 1, A2: 2, A3: 3, A4: 4, A5: 5}
    labels: {1: helemaal niet akkoord, 2: eerder niet akkoord, 3: neutraal, 4: eerder akkoord, 5: helemaal akkoord}
    missing: {"-9": weet niet}
  score0_10: {min: 0, max: 10}
  function: {nominal: true, labels: {1: Consulent OCJ, 2: Consulent SDJ}}
  text: {text: true}
constructs:
  voice: {label: Inspraak}
items:
  - item: felt_heard
    scheme: agree5
    construct: voice
    source: "L2[SQ001]"
  - item: had_a_say
    scheme: agree5
    construct: voice
    source: {"2023": "Q1", "2025": "Q1B"}
  - item: safety_score
    scheme: score0_10
    source: SAFETY
  - item: function
    role: attribute
    scheme: function
    source: FUNCTIE
  - item: remarks
    scheme: text
    source: OPM
"""


def _row(**fields) -> str:
    return "<row>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</row>"


def _table(name: str, rows: list[str]) -> str:
    return f"<{name}><fields><fieldname>x</fieldname></fields><rows>{''.join(rows)}</rows></{name}>"


def _q(qid, title, qtype, text=None, language=None, parent=0) -> str:
    fields = dict(qid=qid, parent_qid=parent, sid=123456, gid=1, type=qtype, title=title)
    if text is not None:
        fields |= dict(question=text, language=language)
    return _row(**fields)


AGREE_NL = ["helemaal niet akkoord", "eerder niet akkoord", "Neutraal ", "eerder  akkoord", "helemaal akkoord"]
AGREE_FR = ["pas du tout d'accord", "plutôt pas d'accord", "neutre", "plutôt d'accord", "tout à fait d'accord"]

# LimeSurvey 3 (DBVersion 366): texts on the questions / answers rows, one row per language.
PRE4 = ('<?xml version="1.0" encoding="UTF-8"?>\n<document>'
        "<LimeSurveyDocType>Survey</LimeSurveyDocType><DBVersion>366</DBVersion>"
        "<languages><language>nl</language><language>fr</language></languages>"
        + _table("answers",
                 [_row(qid=10, code=f"A{i + 1}", answer=t, sortorder=i, assessment_value=0, language="nl", scale_id=0)
                  for i, t in enumerate(AGREE_NL)]
                 + [_row(qid=10, code=f"A{i + 1}", answer=t, sortorder=i, assessment_value=0, language="fr", scale_id=0)
                    for i, t in enumerate(AGREE_FR)]
                 + [_row(qid=20, code=f"A{i + 1}", answer=t, sortorder=i, assessment_value=0, language="nl", scale_id=0)
                    for i, t in enumerate(["helemaal niet akkoord", "niet akkoord", "neutraal", "eerder akkoord",
                                           "<p>helemaal&nbsp;akkoord</p>"])]
                 + [_row(qid=40, code=c, answer=t, sortorder=c, assessment_value=0, language="nl", scale_id=0)
                    for c, t in (("1", "Consulent OCJ"), ("2", "Consulent SDJ"), ("3", "Andere"))])
        + _table("questions", [
            _q(10, "L2", "F", "Over de <b>samenwerking</b>", "nl"),
            _q(10, "L2", "F", "Sur la <b>collaboration</b>", "fr"),
            _q(20, "Q1", "L", "Ik had inspraak.", "nl"),
            _q(20, "Q1", "L", "J'avais mon mot à dire.", "fr"),
            _q(30, "SAFETY", "N", "Hoe veilig is uw kind nu (0-10)?", "nl"),
            _q(40, "FUNCTIE", "L", "Uw functie", "nl"),
            _q(50, "OPM", "T", "Opmerkingen", "nl"),
        ])
        + _table("subquestions", [
            _q(11, "SQ001", "T", "Ik voelde me gehoord", "nl", parent=10),
            _q(11, "SQ001", "T", "Je me suis senti écouté", "fr", parent=10),
            _q(12, "SQ002", "T", "Ik begreep de zorgen", "nl", parent=10),
        ])
        + _table("surveys", [_row(sid=123456, language="nl", additional_languages="fr")])
        + "</document>")

# LimeSurvey 5 (DBVersion 480): texts in question_l10ns / answer_l10ns; answers, subquestions and
# answer_l10ns each hold a single <row>.
L10N = ('<?xml version="1.0" encoding="UTF-8"?>\n<document>'
        "<LimeSurveyDocType>Survey</LimeSurveyDocType><DBVersion>480</DBVersion>"
        "<languages><language>nl</language></languages>"
        + _table("answers", [_row(aid=7, qid=25, code="A5", sortorder=5, assessment_value=0, scale_id=0)])
        + _table("answer_l10ns", [_row(id=70, aid=7, answer="Helemaal akkoord!", language="nl")])
        + _table("questions", [_q(10, "L2", "F"), _q(25, "Q1B", "L")])
        + _table("subquestions", [_q(11, "SQ001", "T", parent=10)])
        + _table("question_l10ns", [
            _row(id=1, qid=10, question="Over de samenwerking", help="", language="nl"),
            _row(id=2, qid=11, question="Ik voelde me <em>gehoord</em>", help="", language="nl"),
            _row(id=3, qid=25, question="Ik had inspraak &amp; een stem.", help="", language="nl"),
        ])
        + "</document>")


@pytest.fixture
def instrument(tmp_path):
    path = tmp_path / "client_feedback.yaml"
    path.write_text(INSTRUMENT_YAML, encoding="utf-8")
    return load_instrument(path)


def test_pre4_layout(tmp_path):
    path = tmp_path / "survey.lss"
    path.write_text(PRE4, encoding="utf-8")
    lss = read_lss(path)
    assert lss.layout == "pre4" and lss.db_version == 366
    assert lss.base_language == "nl" and lss.languages == ["nl", "fr"]
    q = {(r.code, r.language): (r.question_text, r.parent) for r in lss.questions.itertuples(index=False)}
    assert q == {
        ("L2", "nl"): ("Over de samenwerking", None),
        ("L2", "fr"): ("Sur la collaboration", None),
        ("Q1", "nl"): ("Ik had inspraak.", None),
        ("Q1", "fr"): ("J'avais mon mot à dire.", None),
        ("SAFETY", "nl"): ("Hoe veilig is uw kind nu (0-10)?", None),
        ("FUNCTIE", "nl"): ("Uw functie", None),
        ("OPM", "nl"): ("Opmerkingen", None),
        ("L2_SQ001", "nl"): ("Ik voelde me gehoord", "L2"),
        ("L2_SQ001", "fr"): ("Je me suis senti écouté", "L2"),
        ("L2_SQ002", "nl"): ("Ik begreep de zorgen", "L2"),
    }
    a = lss.answers
    assert list(a.columns[:4]) == ["code", "answer_code", "label", "language"]
    nl = a[a["language"] == "nl"]
    assert nl[nl["code"] == "L2"]["label"].tolist() == ["helemaal niet akkoord", "eerder niet akkoord", "Neutraal",
                                                         "eerder akkoord", "helemaal akkoord"]
    assert a[(a["code"] == "L2") & (a["language"] == "fr")]["label"].tolist() == AGREE_FR
    assert nl[nl["code"] == "Q1"].set_index("answer_code")["label"].to_dict()["A5"] == "helemaal akkoord"
    assert nl[nl["code"] == "FUNCTIE"]["answer_code"].tolist() == ["1", "2", "3"]
    assert len(a) == 18


def test_l10n_layout_with_single_row_tables(tmp_path):
    path = tmp_path / "survey.lss"
    path.write_text(L10N, encoding="utf-8")
    lss = read_lss(path)
    assert lss.layout == "l10n" and lss.db_version == 480 and lss.base_language == "nl"
    q = {r.code: (r.question_text, r.language, r.parent, r.type) for r in lss.questions.itertuples(index=False)}
    assert q == {
        "L2": ("Over de samenwerking", "nl", None, "F"),
        "L2_SQ001": ("Ik voelde me gehoord", "nl", "L2", "T"),
        "Q1B": ("Ik had inspraak & een stem.", "nl", None, "L"),
    }
    assert lss.answers[["code", "answer_code", "label", "language"]].to_dict("records") == [
        {"code": "Q1B", "answer_code": "A5", "label": "Helemaal akkoord!", "language": "nl"}]


def test_compare_labels_pre4(tmp_path, instrument):
    """Case and blanks do not count; French rows are not compared (base language nl); sub-question
    L2[SQ001] is checked against its parent's answer list."""
    path = tmp_path / "survey.lss"
    path.write_text(PRE4, encoding="utf-8")
    notes = compare_labels(read_lss(path), instrument, "2023")
    assert notes == [
        "item had_a_say (Q1, wave 2023): answer code 'A2' is labelled 'niet akkoord' in the .lss but "
        "'eerder niet akkoord' in the instrument",
        "item function (FUNCTIE, wave 2023): answer code '3' labelled 'Andere' in the .lss is not in the "
        "instrument's scheme 'function'",
    ]
    # in 2025 the item reads Q1B, which this .lss does not have: nothing to compare for it
    assert not any("had_a_say" in n for n in compare_labels(read_lss(path), instrument, "2025"))


def test_compare_labels_l10n(tmp_path, instrument):
    path = tmp_path / "survey.lss"
    path.write_text(L10N, encoding="utf-8")
    assert compare_labels(read_lss(path), instrument, "2025") == [
        "item had_a_say (Q1B, wave 2025): answer code 'A5' is labelled 'Helemaal akkoord!' in the .lss but "
        "'helemaal akkoord' in the instrument",
    ]


def test_bad_files(tmp_path):
    broken = tmp_path / "broken.lss"
    broken.write_text("<document>\n<questions>\n</document>", encoding="utf-8")
    with pytest.raises(ReaderError) as err:
        read_lss(broken)
    assert err.value.code == "S_LSS" and err.value.line == 3
    other = tmp_path / "other.lss"
    other.write_text("<html><body/></html>", encoding="utf-8")
    with pytest.raises(ReaderError, match="not a LimeSurvey structure file"):
        read_lss(other)
    with pytest.raises(ReaderError):
        read_lss(tmp_path / "absent.lss")
