"""pseudonymise_extract hashes each distinct child id and team once and joins the keys back
(orchestration/readers/dossiers.py; SPEC 3.4, 6): the same keys and labels as one HMAC per row."""
from __future__ import annotations

import pandas as pd

from orchestration.privacy import pseudonymise
from orchestration.readers.dossiers import pseudonymise_extract, read_dossier_extract
from tests.unit.test_dossier_reader import DOSSIERS_HEADER, EXTRACT, KEY, extract


def test_repeated_children_and_teams_get_their_own_keys_and_published_labels(tmp_path):
    folder = extract(tmp_path, DOSSIERS_HEADER + "\n"
                     "D1;C1;OCJ;Antwerpen; Gent Rand ;2023-02-01;;;;\n"
                     "D2;C1;OCJ;Antwerpen;Gent Rand;2023-02-02;;;;\n"
                     "D3;C2;SDJ;Limburg;Hasselt 2;2023-02-03;;;;\n"
                     "D4; C2;SDJ;Limburg;;2023-02-04;;;;\n"
                     "D5;C3;SDJ;Limburg;Gent Rand (Lochristi);2023-02-05;;;;\n")
    labels = {"Gent Rand": "Gent Rand", "Gent Rand (Lochristi)": "Gent Rand"}
    d = pseudonymise_extract(read_dossier_extract(folder, EXTRACT), KEY, labels)["raw.dossiers"]
    assert d["child_key"].tolist() == [pseudonymise(c, "child", KEY) for c in ("C1", "C1", "C2", "C2", "C3")]
    assert d["team_key"].tolist()[:3] == [pseudonymise(t, "team", KEY) for t in ("Gent Rand", "Gent Rand", "Hasselt 2")]
    assert pd.isna(d.loc[3, "team_key"]) and d.loc[4, "team_key"] == pseudonymise("Gent Rand (Lochristi)", "team", KEY)
    assert d.loc[0, "team"] == d.loc[1, "team"] == d.loc[4, "team"] == "Gent Rand"
    assert pd.isna(d.loc[2, "team"]) and pd.isna(d.loc[3, "team"])  # unlisted team, no team: key only / nothing
    assert d["source_line"].tolist() == [2, 3, 4, 5, 6]
    assert str(d["team"].dtype) == "str" and "Hasselt 2" not in d.astype(str).to_numpy().ravel()
