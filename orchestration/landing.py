"""The landing zone: which partitions exist, their files, and their fingerprints (SPEC 3).

Landing files are only ever read: never modified, moved or deleted.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orchestration import settings
from orchestration.contracts import dossier_extract
from orchestration.readers.base import sha256_file

_INSTRUMENT = re.compile(r"^[a-z0-9_]+$")
_WAVE = re.compile(r"^[A-Za-z0-9_-]+$")
SURVEY_FILES = ("responses.csv", "responses.sav", "survey.lss", "wave.yaml")
#: the files of a dossier extract folder (SPEC 3.4; :data:`orchestration.contracts.dossier_extract.FILES`)
DOSSIER_FILES = dossier_extract.FILES


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
        work for every wave of that instrument, like a corrected export. A folder without any contract
        file (empty, or only stray files) has one entry, the folder itself, fingerprinted by the names of
        what it holds: it is quarantined once and then unchanged until a file is added.
        """
        out = {self.relative(p): sha256_file(p) for p in self.files}
        if not out:
            # no contract file at all (an empty or stray folder): one fingerprint for what the folder holds,
            # so it is reported once and counts as unchanged until something is put in it
            listing = "\n".join(sorted(self.ignored))
            out[self.relative(self.folder)] = "folder:" + hashlib.sha256(listing.encode("utf-8")).hexdigest()
        if self.kind == "survey" and self.files:
            definition = settings.instruments_dir() / f"{self.instrument}.yaml"
            if definition.is_file():
                out[f"{self.relative(self.folder)}/(instrument {definition.name})"] = sha256_file(definition)
        return out


def discover(root: Path | None = None) -> list[Partition]:
    """Every partition in the landing zone, surveys first then dossier extracts, each sorted by key.

    Folders whose names break the SPEC 3 patterns, or that hold no or ambiguous data files, come back
    with ``problem`` set, so they are reported rather than silently ignored. Hidden folders (name
    starting with ``.``, e.g. ``.ipynb_checkpoints``, ``.git``) and ``__pycache__`` are not partitions
    and are skipped at every level.
    """
    root = Path(root or settings.landing_dir())
    found: list[Partition] = []
    surveys = root / "surveys"
    if surveys.is_dir():
        for inst in _folders(surveys):
            for wave in _folders(inst):
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
                                   if data else "no responses.csv or responses.sav" + _EMPTY(wave))
                found.append(Partition("survey", f"{inst.name}/{wave.name}", wave, files, problem,
                                       _ignored(wave, SURVEY_FILES)))
    dossiers = root / "dossiers"
    if dossiers.is_dir():
        for ext in _folders(dossiers):
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
                missing = [f for f in dossier_extract.REQUIRED_FILES if not (ext / f).is_file()]
                if missing:
                    problem = f"missing {', '.join(missing)}" + _EMPTY(ext)
            found.append(Partition("dossier", ext.name, ext, files, problem, _ignored(ext, DOSSIER_FILES)))
    return found


def _EMPTY(folder: Path) -> str:  # noqa: N802 - reads as a phrase
    """The tail of the message for a folder without any file: reported once, until something is added."""
    if any(folder.iterdir()):
        return ""
    return (" (the folder is empty: reported once; put the export in it, or remove the folder, "
            "or hide it by starting its name with '.')")


def _folders(parent: Path) -> list[Path]:
    """Sub-folders of ``parent`` that can be partitions (or instruments): not hidden, not ``__pycache__``."""
    return sorted(p for p in parent.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != "__pycache__")


def _ignored(folder: Path, known: tuple[str, ...]) -> tuple[str, ...]:
    """Names of files in ``folder`` that are not part of the landing contract (e.g. ``Dossiers.CSV``)."""
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in known))


def find(kind: str, key: str, root: Path | None = None) -> Partition:
    """The partition ``key`` of ``kind``. Raises KeyError when the landing zone has no such folder."""
    for p in discover(root):
        if p.kind == kind and p.key == key:
            return p
    raise KeyError(f"no {kind} partition {key!r} in the landing zone {root or settings.landing_dir()}")
