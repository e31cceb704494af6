"""README's rule table is generated from the rules (issue 10): it must list every rule as the code has it."""
from pathlib import Path

from orchestration.quality.dossiers import DOSSIER_RULES
from orchestration.quality.results import rule_table
from orchestration.quality.survey import SURVEY_RULES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_tables_are_current():
    text = README.read_text(encoding="utf-8")
    assert rule_table(SURVEY_RULES) in text
    assert rule_table(DOSSIER_RULES) in text
    for code in ("S_ITEM_MISSING", "S_COLUMN_UNMAPPED", "S_WAVE_UNDATED", "S_LSS_DUPLICATE_CODE",
                 "D_DOSSIERS_NO_IDENTIFIER", "D_DOSSIERS_ID_NOT_SCIENTIFIC", "D_DOSSIERS_REGISTER_NUMBER_CHECK"):
        assert f"`{code}`" in text
