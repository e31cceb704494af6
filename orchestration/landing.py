"""The landing zone: which partitions exist, their files, and their fingerprints (SPEC 3).

Landing files are only ever read: never modified, moved or deleted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orchestration import settings
from orchestration.readers.base import sha256_file

_INSTRUMENT = re.compile(r"^[a-z0-9_]+$")
_WAVE = re.compile(r"^[A-Za-z0-9_-]+$")
SURVEY_FILES = ("responses.csv", "responses.sav", "survey.lss", "wave.yaml")
DOSSIER_FILES = ("dossiers.csv", "placements.csv", "practice_events.csv")


@dataclass(frozen=True)
class Partition:
    """One unit of loading: a survey wave (``kind='survey'``, key ``<instrument>/<wave>``) or a dossier
    extract (``kind='dossier'``, key ``YYYY-MM-DD``), with the landing files that belong to it."""

    kind: str
    key: str
    folder: Path
    files: tuple[Path, ...]
    problem: str | None = None  # a layout problem found while scanning (reported as quarantine)
    ignored: tuple[str, ...] = ()  # other files in the folder, not part of the contract (reported)

    @property
    def instrument(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def wave(self) -> str:
        return self.key.split("/", 1)[1]

    def relative(self, path: Path, root: Path | None = None) -> str:
        """``path`` relative to the landing root, with forward slashes (how files are named in audit)."""
        root = root or settings.landing_dir()
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def fingerprint(self) -> dict[str, str]:
        """Landing-relative file name -> SHA-256 for every file of the partition.

        A survey wave also carries its instrument definition, as the pseudo-file
        ``surveys/<instrument>/<wave>/(instrument <instrument>.yaml)``: a corrected definition is new
        work for every wave of that instrument, like a corrected export.
        """
        out = {self.relative(p): sha256_file(p) for p in self.files}
        if self.kind == "survey" and out:
            definition = settings.instruments_dir() / f"{self.instrument}.yaml"
            if definition.is_file():
                out[f"{self.relative(self.folder)}/(instrument {definition.name})"] = sha256_file(definition)
        return out


def discover(root: Path | None = None) -> list[Partition]:
    """Every partition in the landing zone, surveys first then dossier extracts, each sorted by key.

    Folders whose names break the SPEC 3 patterns, or that hold no or ambiguous data files, come back
    with ``problem`` set, so they are reported rather than silently ignored.
    """
    root = Path(root or settings.landing_dir())
    found: list[Partition] = []
    surveys = root / "surveys"
    if surveys.is_dir():
        for inst in sorted(p for p in surveys.iterdir() if p.is_dir()):
            for wave in sorted(p for p in inst.iterdir() if p.is_dir()):
                files = tuple(sorted(wave / f for f in SURVEY_FILES if (wave / f).is_file()))
                problem = None
                if not _INSTRUMENT.match(inst.name):
                    problem = f"instrument folder {inst.name!r} must match [a-z0-9_]+"
                elif not _WAVE.match(wave.name):
                    problem = f"wave folder {wave.name!r} must match [A-Za-z0-9_-]+"
                else:
                    data = [f for f in files if f.name.startswith("responses.")]
                    if len(data) != 1:
                        problem = ("both responses.csv and responses.sav present: keep exactly one"
                                   if data else "no responses.csv or responses.sav")
                found.append(Partition("survey", f"{inst.name}/{wave.name}", wave, files, problem,
                                       _ignored(wave, SURVEY_FILES)))
    dossiers = root / "dossiers"
    if dossiers.is_dir():
        for ext in sorted(p for p in dossiers.iterdir() if p.is_dir()):
            files = tuple(sorted(ext / f for f in DOSSIER_FILES if (ext / f).is_file()))
            problem = None
            try:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ext.name):
                    raise ValueError
                if date.fromisoformat(ext.name) > date.today():
                    problem = (f"extract date {ext.name} is in the future: an extract is a snapshot as of a day "
                               "that has passed (it would become the as_of_date of every outcome)")
            except ValueError:
                problem = f"extract folder {ext.name!r} must be an extract date YYYY-MM-DD"
            if problem is None:
                missing = [f for f in ("dossiers.csv", "placements.csv") if not (ext / f).is_file()]
                if missing:
                    problem = f"missing {', '.join(missing)}"
            found.append(Partition("dossier", ext.name, ext, files, problem, _ignored(ext, DOSSIER_FILES)))
    return found


def _ignored(folder: Path, known: tuple[str, ...]) -> tuple[str, ...]:
    """Names of files in ``folder`` that are not part of the landing contract (e.g. ``Dossiers.CSV``)."""
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in known))


def find(kind: str, key: str, root: Path | None = None) -> Partition:
    """The partition ``key`` of ``kind``. Raises KeyError when the landing zone has no such folder."""
    for p in discover(root):
        if p.kind == kind and p.key == key:
            return p
    raise KeyError(f"no {kind} partition {key!r} in the landing zone {root or settings.landing_dir()}")
