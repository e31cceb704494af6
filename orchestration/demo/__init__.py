"""Synthetic demo data (seeded, deterministic): survey waves (staff survey; client and child feedback linked
to the demo dossiers; team leaders' self-assessment, partner survey; case audits of demo dossiers) and
dossier extracts in the landing format."""
from __future__ import annotations

from pathlib import Path

from orchestration import settings


def write_demo_landing(root: Path) -> list[Path]:
    """Write every demo landing file under ``root`` (SPEC 3 layout); returns the files written.

    Same input, same bytes: re-running overwrites the files with identical content, so the landing
    zone's SHA-256 fingerprints do not change and a second run loads nothing.
    """
    from orchestration.demo.audits import write_demo_audits
    from orchestration.demo.dossiers import write_demo_dossiers
    from orchestration.demo.feedback import write_demo_feedback
    from orchestration.demo.groups import write_demo_groups
    from orchestration.demo.surveys import write_demo_surveys

    root = Path(root)
    files = list(write_demo_surveys(root, settings.instruments_dir() / "staff_survey.yaml"))
    files += list(write_demo_dossiers(root))
    files += list(write_demo_feedback(root))
    files += list(write_demo_groups(root, settings.instruments_dir()))   # own seeds: the files above do not change
    files += list(write_demo_audits(root))
    return files
