"""README's rule tables are generated from the registered rule specs (orchestration/quality/rules.py), and
every rule code the source can report is registered there."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from orchestration.quality import rules
from orchestration.quality.dossiers import DOSSIER_RULES
from orchestration.quality.results import ERROR, RuleSpec, rule_table
from orchestration.quality.survey import SURVEY_RULES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CODE = re.compile(r"^(S|D|FILE|RAW)_[A-Z0-9]+(_[A-Z0-9]+)*$")


def _generated_part(text: str) -> str:
    start = text.index(rules.BEGIN)
    end = text.index(rules.END) + len(rules.END)
    return text[start:end]


def test_readme_rule_tables_are_current():
    text = README.read_text(encoding="utf-8")
    assert text.count(rules.BEGIN) == 1 and text.count(rules.END) == 1
    assert _generated_part(text) == rules.readme_section(), (
        "README.md's rule tables are stale: run python -m orchestration.quality.rules --readme")


def test_readme_has_one_row_per_registered_code():
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| ([12]) \| (error|warning) \|", text, flags=re.M)
    codes = [code for code, _stage, _sev in rows]
    assert len(codes) == len(set(codes))
    registered = {s.code: s for s in rules.all_specs()}
    assert set(codes) == set(registered)
    for code, stage, severity in rows:
        assert (int(stage), severity) == (registered[code].stage, registered[code].severity)
    # spot checks written out by hand, one per table
    assert "| `S_RESPONDENT_ONCE` | 1 | warning | token |" in text
    assert "| `D_CLOSURE_AFTER_REGISTRATION` | 2 | error | registration_date, closure_date |" in text
    assert "| `S_TEXT_HEADINGS` | 1 | error | - |" in text


def test_rule_table_format():
    spec = RuleSpec("X_DEMO", 2, ERROR, "a must not be after b.", ("a", "b"))
    bare = RuleSpec("X_BARE", 1, "warning", "m.")
    assert rule_table([spec, bare]) == (
        "| code | stage | severity | columns | message |\n"
        "|---|---|---|---|---|\n"
        "| `X_DEMO` | 2 | error | a, b | a must not be after b. |\n"
        "| `X_BARE` | 1 | warning | - | m. |")


def test_registry_holds_every_gate_rule_and_unique_codes():
    specs = rules.all_specs()
    codes = [s.code for s in specs]
    assert len(codes) == len(set(codes))
    assert codes[:len(SURVEY_RULES)] == [r.spec.code for r in SURVEY_RULES]
    assert codes[len(SURVEY_RULES):len(SURVEY_RULES) + len(DOSSIER_RULES)] == [r.spec.code for r in DOSSIER_RULES]
    assert all((s.stage, s.severity) == (1, ERROR) for s in rules.FILE_RULES)
    assert rules.spec_of("S_NO_ITEMS").severity == ERROR
    with pytest.raises(KeyError, match="X_UNKNOWN.*not registered"):
        rules.spec_of("X_UNKNOWN")


def _source_codes() -> dict[str, set[str]]:
    """Every string literal shaped like a rule code in orchestration/ outside quality/, with its files."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "orchestration").rglob("*.py")):
        if "quality" in path.relative_to(ROOT / "orchestration").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
                found.setdefault(node.value, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_code_the_readers_and_ingest_can_raise_is_registered():
    found = _source_codes()
    # not vacuous: codes of each kind of source are seen
    assert {"FILE_NOT_TEXT", "S_TEXT_HEADINGS", "D_CSV_STRUCTURE", "S_NO_ITEMS", "RAW_TYPE", "S_LINE_ENDINGS",
            "S_WAVE_YAML", "D_LAYOUT"} <= set(found)
    registered = {s.code for s in rules.all_specs()}
    unregistered = {c: sorted(f) for c, f in found.items() if c not in registered}
    assert not unregistered, (f"rule codes raised but not registered: {unregistered}; add them to FILE_RULES in "
                              "orchestration/quality/rules.py and run python -m orchestration.quality.rules --readme")
    stale = sorted(s.code for s in rules.FILE_RULES if s.code not in found)
    assert not stale, f"registered in FILE_RULES but raised nowhere: {stale}"


def test_every_reader_error_names_its_code():
    missing = []
    for path in sorted((ROOT / "orchestration").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name == "ReaderError" and not any(k.arg == "code" for k in node.keywords):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == [], f"ReaderError without code= (reported under the unregistered code READ): {missing}"


def test_command_rewrites_only_the_generated_part(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{rules.BEGIN}\n| `OLD` | 1 | error | - | gone |\n{rules.END}\n\nafter\n",
                      encoding="utf-8")
    assert rules.main(["--check", "--path", str(readme)]) == 1
    assert "not current" in capsys.readouterr().err
    assert rules.main(["--readme", "--path", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n\n" + rules.BEGIN)
    assert text.endswith(rules.END + "\n\nafter\n")
    assert "`OLD`" not in text and "| `S_NO_RESPONSES` | 1 | error | - |" in text
    assert rules.main(["--check", "--path", str(readme)]) == 0


def test_command_refuses_a_readme_without_markers(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nno tables\n", encoding="utf-8")
    assert rules.main(["--readme", "--path", str(readme)]) == 2
    assert "marker" in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == "# Title\n\nno tables\n"
