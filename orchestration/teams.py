"""The team label list the organisation maintains (SPEC 3.4, 6).

``team`` in ``dossiers.csv`` is free text in the case system and may carry anything a worker typed
(a name, a phone number). It never reaches the warehouse as delivered: every team value becomes a
pseudonymous ``team_key`` (HMAC, domain ``team``), and only teams listed in the organisation's label
list get a published ``team`` label. The list is a YAML mapping, file ``data/teams.yaml`` or env
``SOFS_TEAMS_FILE``::

    teams:
      "Antwerpen Noord": Antwerpen Noord         # team value as in the extract -> published label
      "Gent Rand": Gent Rand                    # a renamed team can keep its label
      "Gent Rand (Lochristi)": Gent Rand

Keys are matched after stripping blanks at both ends; unlisted teams get only the key.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from orchestration import settings
from orchestration.instruments import load_yaml
from orchestration.privacy import identifier_kind


class TeamListError(settings.ConfigurationError):
    """The team label list cannot be read or holds something that is not a label (exit code 2)."""


def team_labels(path: Path | None = None) -> dict[str, str]:
    """Team value as delivered (stripped) -> published label, from the team label list (SPEC 3.4).

    Returns ``{}`` when the file does not exist (every team is then published only as its key).

    Raises:
        TeamListError: not YAML, not a mapping ``teams: {value: label}``, an empty label, or a label
            that looks like an identifier (e-mail, phone, national register number); the message names
            the file and the entry number, never a value.
    """
    path = Path(path or settings.teams_file())
    if not path.is_file():
        return {}
    try:
        doc = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TeamListError(f"{path}: cannot read the team label list ({type(exc).__name__})") from exc
    teams = doc.get("teams") if isinstance(doc, dict) else None
    if not isinstance(teams, dict):
        raise TeamListError(f"{path}: expected a mapping 'teams: {{team value in the extract: published label}}'")
    labels: dict[str, str] = {}
    for n, (value, label) in enumerate(teams.items(), start=1):
        if label is None or not str(label).strip() or isinstance(label, (dict, list)):
            raise TeamListError(f"{path}: entry {n} of 'teams' has no label (a text)")
        if identifier_kind(str(label)) or identifier_kind(str(value)):
            raise TeamListError(f"{path}: entry {n} of 'teams' looks like it holds a personal identifier")
        labels[str(value).strip()] = str(label).strip()
    return labels
