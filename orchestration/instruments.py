"""Instrument definitions: load ``data/instruments/<instrument>.yaml`` into typed objects (SPEC 3.3).

An instrument lists its answer schemes, constructs and items. Each item has a stable id across waves
and a ``source``: the export column that holds it, or a map ``{wave: column}`` when the column moved
(the item crosswalk). Column names are matched on a normalised key so that ``L2[SQ001]`` (LimeSurvey
CSV), ``L2_SQ001`` (SPSS / R exports) and ``L2.SQ001.`` (R-mangled) are the same column.

An item's ``scheme`` is one answer scheme for every wave, or a map ``{wave: scheme, default: scheme}``
when the answer scheme changed (a scheme version per wave, SPEC 3.3): :meth:`Instrument.for_wave` gives
the instrument as it applies to one wave, with every item's ``scheme`` resolved. Loaded waves keep the
version they were loaded with (:mod:`orchestration.schemes` refuses an edit that would recode them).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from orchestration import settings

#: the respondent groups the demo and the study's instruments use; any name matching
#: :data:`_POPULATION_NAME` is valid (SPEC 3.3: leader, partner, network, auditor ...)
POPULATIONS = ("staff", "client", "child")
_POPULATION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ROLES = ("item", "attribute")
_INSTRUMENT_NAME = re.compile(r"^[a-z0-9_]+$")


class StringSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``yes``/``no``/``on``/``off`` (any case) as strings.

    PyYAML follows YAML 1.1, where ``codes: {Yes: 1, No: 0}`` would become ``{True: 1, False: 0}`` and
    the export code ``Yes`` would never match. Only ``true`` and ``false`` (any case) stay booleans, as in
    YAML 1.2. Used for instrument definitions and the team label list (SPEC 3.3, 3.4).
    """


StringSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StringSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(text: str):
    """Parse YAML text with :class:`StringSafeLoader` (codes such as ``Yes``/``No`` stay strings)."""
    return yaml.load(text, Loader=StringSafeLoader)  # noqa: S506 - a SafeLoader subclass


class InstrumentError(ValueError):
    """An instrument definition is missing or invalid; the message names the file and the entry."""


def normalise_column(name: str) -> str:
    """Normalise an export column name to one key (SPEC 3.1).

    ``Q[SQ]``, ``Q_SQ``, ``Q.SQ.`` and ``Q.SQ`` all become ``Q_SQ``; matching is case-insensitive, so
    the result is upper case. Leading/trailing blanks and a UTF-8 BOM are removed.
    """
    text = name.strip().lstrip("\ufeff")
    text = re.sub(r"\[([^\]]*)\]", r"_\1", text)
    text = re.sub(r"\.([^.]+)\.?$", r"_\1", text)
    return text.upper()


@dataclass(frozen=True)
class AnswerScheme:
    """How export codes of one question type become values (SPEC 3.3).

    Attributes:
        name: scheme id in the instrument file.
        codes: export code -> numeric value; empty when the codes are the values themselves.
        labels: numeric value -> label text (value labels).
        missing: export code -> missing reason (declared missing codes, e.g. ``-9: weet niet``).
        min, max: the value range; from ``min``/``max`` or else from ``codes``/``labels``.
        nominal: values are categories without order (no mean, no scale).
        text: open answer; stored only in ``restricted`` (SPEC 6).
        kind: ``scaling`` for a scaling question (a 0-10 judgement with labelled ends, SofS; SPEC 3.3): each
            item of this scheme is a measure of its own in ``marts.construct_means``; None otherwise.
        anchors: value -> text of the labelled points of a scaling scheme (``{0: ..., 10: ...}``); they
            are not value labels (the values between them stay plain numbers) and not part of the coding.
    """

    name: str
    codes: dict[str, float] = field(default_factory=dict)
    labels: dict[float, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    nominal: bool = False
    text: bool = False
    kind: str | None = None
    anchors: dict[float, str] = field(default_factory=dict)

    def values(self) -> list[float]:
        """Every valid value of the scheme in order (codes, labels, or the whole range min..max)."""
        if self.text:
            return []
        found = set(self.codes.values()) | set(self.labels)
        if not found and self.min is not None and self.max is not None:
            found = {float(v) for v in range(int(self.min), int(self.max) + 1)}
        return sorted(found)

    def recode(self, raw: str) -> tuple[float | None, str | None, bool]:
        """Map one non-empty export code to ``(value, missing_reason, valid)``.

        A declared missing code gives ``(None, reason, True)``; a code outside the scheme gives
        ``(None, None, False)``. Codes are compared after stripping blanks; numeric codes also match
        in their float spelling (``"3"``, ``"3.0"``).
        """
        code = raw.strip()
        if code in self.missing:
            return None, self.missing[code], True
        number = _as_number(code)
        if number is not None:
            for declared, reason in self.missing.items():
                if _as_number(declared) == number:
                    return None, reason, True
        if self.codes:
            if code in self.codes:
                return self.codes[code], None, True
            return None, None, False
        if number is None or not number.is_integer() or not re.fullmatch(r"-?\d+([.,]0*)?", code):
            return None, None, False  # scheme values are whole numbers written plainly (no 3.5, no 1e1)
        if self.labels and number not in self.labels:
            return None, None, False
        if self.min is not None and number < self.min:
            return None, None, False
        if self.max is not None and number > self.max:
            return None, None, False
        return number, None, True

    def signature(self) -> str:
        """A stable text of what a value means; two waves are comparable only when it is equal (SPEC 5)."""
        if self.text:
            return "text"
        parts = [f"values={','.join(_fmt(v) for v in self.values())}"]
        if self.labels:
            parts.append("labels=" + "|".join(f"{_fmt(v)}:{t}" for v, t in sorted(self.labels.items())))
        if self.nominal:
            parts.append("nominal")
        return ";".join(parts)

    def coding(self) -> dict:
        """What a code means, without the labels (SPEC 3.3): a JSON-ready dict.

        Shape: ``{"codes": {code: value}, "values": [value, ...], "missing": [code, ...], "min": float|None,
        "max": float|None, "nominal": bool, "text": bool}``, keys and lists sorted. Two schemes with the
        same coding decode every export code to the same value or missing reason; a labels-only edit keeps
        it. Missing codes count as a set (their reason texts are labels).
        """
        return {
            "codes": {k: self.codes[k] for k in sorted(self.codes)},
            "values": [] if self.text else [float(v) for v in self.values()],
            "missing": sorted(self.missing),
            "min": self.min, "max": self.max, "nominal": self.nominal, "text": self.text,
        }

    def label_texts(self) -> dict:
        """The labels of the scheme: ``{"labels": {value: text}, "missing": {code: reason}}`` (values as
        text, sorted), JSON-ready (SPEC 3.3)."""
        return {"labels": {_fmt(v): t for v, t in sorted(self.labels.items())},
                "missing": {k: self.missing[k] for k in sorted(self.missing)}}

    def coding_fingerprint(self) -> str:
        """SHA-256 (hex) of :meth:`coding`: equal for two schemes exactly when they decode alike. Two waves
        of an item are comparable when their coding fingerprints are equal (SPEC 3.3, 5)."""
        return _sha(self.coding())

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the codes, values, labels and missing codes (:meth:`coding` and
        :meth:`label_texts`): changes with any edit of the scheme, labels included (SPEC 3.3)."""
        return _sha({"coding": self.coding(), "labels": self.label_texts()})


def _sha(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Construct:
    """A scale made of items (SPEC 3.3, 5): id, label and the share of items needed for a score."""

    name: str
    label: str
    min_valid_share: float = 0.5


@dataclass(frozen=True)
class Item:
    """One question (or sub-question) with a stable id across waves (SPEC 3.3).

    ``scheme`` is the item's answer scheme; when the definition versions it per wave
    (``scheme: {wave: name, default: name}``), ``scheme_by_wave`` holds that map (wave or ``default`` ->
    scheme) and ``scheme`` is the ``default`` one (else the last one listed) until
    :meth:`Instrument.for_wave` resolves it for one wave.
    """

    item: str
    scheme: AnswerScheme
    source: str | dict[str, str]
    text: str = ""
    construct: str | None = None
    reverse: bool = False
    role: str = "item"
    scheme_by_wave: dict[str, AnswerScheme] | None = None
    kind: str | None = None
    anchors: dict[float, str] = field(default_factory=dict)

    @property
    def scale_anchors(self) -> dict[float, str]:
        """The labelled points of a scaling question: the item's own ``anchors``, else its scheme's."""
        return self.anchors or self.scheme.anchors

    @property
    def measure_kind(self) -> str | None:
        """``scaling`` when the item is a scaling question (its own ``kind: scaling``, or its scheme's),
        else None (SPEC 3.3)."""
        return self.kind or self.scheme.kind

    def scheme_for(self, wave: str) -> AnswerScheme | None:
        """The answer scheme (version) of this item in ``wave`` (SPEC 3.3): the scheme named for the wave,
        else the ``default`` one; None when a versioned item names neither."""
        if not self.scheme_by_wave:
            return self.scheme
        if wave in self.scheme_by_wave:
            return self.scheme_by_wave[wave]
        return self.scheme_by_wave.get("default")

    def source_for(self, wave: str) -> str | None:
        """The export column of this item in ``wave`` (None when the item was not asked that wave)."""
        if isinstance(self.source, str):
            return self.source
        if wave in self.source:
            return self.source[wave]
        return self.source.get("default")


@dataclass(frozen=True)
class RespondentGroup:
    """Who answered, when an instrument has more than one group of respondents (SPEC 3.3).

    ``respondent_group: {item: respondent_role, codes: {1: parent, 2: network}}`` or, short,
    ``respondent_group: respondent_role``. The group of a response is the value label of its answer to
    the attribute item ``item`` (e.g. ouder / netwerklid; ``unknown`` when not answered). ``codes``
    (optional) gives each value a short code for the per-response marts (``marts.fct_feedback``
    ``respondent_role``). Without an item (``respondent_group: {label: kind of jongere}``) every
    respondent is in the group named by the instrument's population, shown with ``label``.

    Attributes:
        item: the attribute item whose value label is the group; None: the population is the group.
        codes: value -> short code (optional).
        label: the text of the population group when there is no item (default: the population).
    """

    item: str | None = None
    codes: dict[float, str] = field(default_factory=dict)
    label: str | None = None


@dataclass(frozen=True)
class RegionSource:
    """Where a response's region comes from (SPEC 3.3): ``region: {item: region}`` (an attribute item
    whose value label is the region name) or ``region: dossier`` (the region of the linked dossier in the
    latest extract; needs ``dossier_key``). Responses without one are in region ``unknown``."""

    item: str | None = None
    dossier: bool = False


@dataclass(frozen=True)
class Instrument:
    """A survey instrument: schemes, constructs and items (SPEC 3.3)."""

    instrument: str
    title: str
    population: str
    items: tuple[Item, ...]
    constructs: dict[str, Construct]
    schemes: dict[str, AnswerScheme]
    respondent_key: str | None = None
    dossier_key: str | None = None
    version: str = "1"
    path: Path | None = None
    respondent_group: RespondentGroup | None = None
    region: RegionSource | None = None

    def columns_for(self, wave: str) -> dict[str, Item]:
        """Normalised source column -> item for one wave."""
        mapping: dict[str, Item] = {}
        for item in self.items:
            source = item.source_for(wave)
            if source:
                mapping[normalise_column(source)] = item
        return mapping

    def for_wave(self, wave: str) -> Instrument:
        """The instrument as it applies to ``wave``: every item's ``scheme`` is its version for that wave
        (SPEC 3.3). Readers, the quality gate and the ingest use it; calling it again is harmless.

        Raises:
            InstrumentError: an item asked in ``wave`` (its source names a column) has a versioned scheme
                that names neither the wave nor ``default``.
        """
        items = []
        for it in self.items:
            scheme = it.scheme_for(wave)
            if scheme is None:
                if it.source_for(wave) is None:
                    items.append(it)  # not asked in this wave: its scheme does not matter
                    continue
                raise InstrumentError(
                    f"{self.path or self.instrument}: item {it.item!r} has no answer scheme for wave {wave!r}: "
                    f"name the wave in its scheme map ({', '.join(sorted(it.scheme_by_wave or {}))}) or add "
                    "'default' (SPEC 3.3)")
            items.append(replace(it, scheme=scheme))
        return replace(self, items=tuple(items))

    def item(self, name: str) -> Item:
        """The item with id ``name``. Raises KeyError."""
        for it in self.items:
            if it.item == name:
                return it
        raise KeyError(name)


def _as_number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except (ValueError, AttributeError):
        return None
    return value if math.isfinite(value) else None


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _scheme(name: str, spec: dict, where: str) -> AnswerScheme:
    if not isinstance(spec, dict):
        raise InstrumentError(f"{where}: answer scheme {name!r} must be a mapping")
    unknown = set(spec) - {"codes", "labels", "missing", "min", "max", "nominal", "text", "kind", "anchors"}
    if unknown:
        raise InstrumentError(f"{where}: answer scheme {name!r} has unknown keys {sorted(unknown)}")
    try:
        codes = {str(k): float(v) for k, v in (spec.get("codes") or {}).items()}
        labels = {float(k): str(v) for k, v in (spec.get("labels") or {}).items()}
    except (TypeError, ValueError) as exc:
        raise InstrumentError(f"{where}: answer scheme {name!r}: codes and label keys must be numbers ({exc})") from exc
    missing = {str(k): str(v) for k, v in (spec.get("missing") or {}).items()}
    kind = _kind(spec.get("kind"), f"{where}: answer scheme {name!r}")
    try:
        anchors = {float(k): str(v) for k, v in (spec.get("anchors") or {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise InstrumentError(f"{where}: answer scheme {name!r}: anchors must map numbers to texts ({exc})") from exc
    values = set(codes.values()) | set(labels)
    default_lo, default_hi = (0, 10) if kind == "scaling" and not values else (None, None)
    lo = spec.get("min", min(values) if values else default_lo)
    hi = spec.get("max", max(values) if values else default_hi)
    text = bool(spec.get("text", False))
    if kind == "scaling" and (text or spec.get("nominal")):
        raise InstrumentError(f"{where}: answer scheme {name!r}: a scaling scheme is numeric, not text or nominal")
    if anchors and lo is not None and hi is not None and any(not float(lo) <= a <= float(hi) for a in anchors):
        raise InstrumentError(f"{where}: answer scheme {name!r}: anchors must lie within min..max")
    if not text and (lo is None or hi is None) and not values:
        raise InstrumentError(f"{where}: answer scheme {name!r} needs codes, labels, or min and max")
    return AnswerScheme(
        name=name, codes=codes, labels=labels, missing=missing,
        min=None if lo is None else float(lo), max=None if hi is None else float(hi),
        nominal=bool(spec.get("nominal", False)), text=text, kind=kind, anchors=anchors,
    )


#: item and scheme kinds (SPEC 3.3): ``scaling`` = a scaling question, a measure of its own
KINDS = ("scaling",)


def _kind(value, where: str) -> str | None:
    if value is None:
        return None
    if value not in KINDS:
        raise InstrumentError(f"{where}: kind must be one of {KINDS}, got {value!r}")
    return str(value)


def load_instrument(path: Path) -> Instrument:
    """Read and validate one instrument file (SPEC 3.3).

    The YAML is read with :class:`StringSafeLoader`: ``Yes``, ``No``, ``on``, ``off`` stay the strings
    they are (export codes), where plain YAML 1.1 would turn them into booleans.

    Raises:
        InstrumentError: unreadable YAML, unknown scheme or construct, duplicate item id or source,
            bad population or role. The message names the file and the offending entry.
    """
    where = str(path)
    try:
        doc = load_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InstrumentError(f"{where}: cannot read instrument definition: {exc}") from exc
    if not isinstance(doc, dict):
        raise InstrumentError(f"{where}: expected a mapping at the top level")
    name = doc.get("instrument")
    if not isinstance(name, str) or not _INSTRUMENT_NAME.match(name):
        raise InstrumentError(f"{where}: 'instrument' must match [a-z0-9_]+, got {name!r}")
    if Path(path).stem != name:
        raise InstrumentError(f"{where}: file name must be {name}.yaml")
    population = doc.get("population", "staff")
    if not isinstance(population, str) or not _POPULATION_NAME.match(population):
        raise InstrumentError(f"{where}: population must be a group name in lower case letters, digits and _ "
                              f"(e.g. {', '.join(POPULATIONS)}, leader, partner, auditor), got {population!r}")
    schemes = {k: _scheme(k, v, where) for k, v in (doc.get("answer_schemes") or {}).items()}
    constructs = {}
    for cname, spec in (doc.get("constructs") or {}).items():
        spec = spec or {}
        share = float(spec.get("min_valid_share", 0.5))
        if not 0 < share <= 1:
            raise InstrumentError(f"{where}: construct {cname!r}: min_valid_share must be in (0, 1]")
        constructs[cname] = Construct(cname, str(spec.get("label", cname)), share)
    items: list[Item] = []
    seen: set[str] = set()
    for n, spec in enumerate(doc.get("items") or [], start=1):
        if not isinstance(spec, dict) or "item" not in spec:
            raise InstrumentError(f"{where}: items entry {n} has no 'item' id")
        iid = str(spec["item"])
        if iid in seen:
            raise InstrumentError(f"{where}: item {iid!r} is defined twice")
        seen.add(iid)
        scheme, by_wave = _item_scheme(iid, spec.get("scheme"), schemes, where)
        construct = spec.get("construct")
        if construct is not None and construct not in constructs:
            raise InstrumentError(f"{where}: item {iid!r} names unknown construct {construct!r}")
        role = spec.get("role", "item")
        if role not in ROLES:
            raise InstrumentError(f"{where}: item {iid!r}: role must be one of {ROLES}")
        source = spec.get("source")
        if isinstance(source, dict):
            source = {str(k): str(v) for k, v in source.items()}
        elif not isinstance(source, str) or not source:
            raise InstrumentError(f"{where}: item {iid!r} needs a source column (or a map wave -> column)")
        kind = _kind(spec.get("kind"), f"{where}: item {iid!r}")
        try:
            anchors = {float(k): str(v) for k, v in (spec.get("anchors") or {}).items()}
        except (TypeError, ValueError, AttributeError) as exc:
            raise InstrumentError(f"{where}: item {iid!r}: anchors must map numbers to texts ({exc})") from exc
        if kind == "scaling" and (scheme.text or scheme.nominal):
            raise InstrumentError(f"{where}: item {iid!r}: a scaling question needs a numeric scheme")
        items.append(Item(
            item=iid, scheme=scheme, source=source, text=str(spec.get("text", "")),
            construct=construct, reverse=bool(spec.get("reverse", False)), role=role, scheme_by_wave=by_wave,
            kind=kind, anchors=anchors,
        ))
    instrument = Instrument(
        instrument=name, title=str(doc.get("title", name)), population=population,
        items=tuple(items), constructs=constructs, schemes=schemes,
        respondent_key=doc.get("respondent_key"), dossier_key=doc.get("dossier_key"),
        version=str(doc.get("version", "1")), path=Path(path),
        respondent_group=_respondent_group(doc.get("respondent_group"), items, where),
        region=_region(doc.get("region"), items, doc.get("dossier_key"), where),
    )
    _check_sources(instrument, where)
    return instrument


def _attribute(name, items: list[Item], key: str, where: str) -> str:
    """The id of the attribute item ``name`` that ``key`` names, or InstrumentError."""
    for it in items:
        if it.item == name:
            if it.role != "attribute" or it.scheme.text:
                raise InstrumentError(f"{where}: {key}: item {name!r} must be a coded item with role: attribute")
            return it.item
    raise InstrumentError(f"{where}: {key} names unknown item {name!r}")


def _respondent_group(spec, items: list[Item], where: str) -> RespondentGroup | None:
    """``respondent_group:`` (SPEC 3.3): an attribute item's name, or ``{item, codes, label}``."""
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"item": spec}
    if not isinstance(spec, dict) or set(spec) - {"item", "codes", "label"}:
        raise InstrumentError(f"{where}: respondent_group must be an attribute item's name or a mapping with "
                              "item, codes, label")
    item = _attribute(spec["item"], items, "respondent_group", where) if spec.get("item") is not None else None
    try:
        codes = {float(k): str(v) for k, v in (spec.get("codes") or {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise InstrumentError(f"{where}: respondent_group codes must map values to names ({exc})") from exc
    label = spec.get("label")
    return RespondentGroup(item=item, codes=codes, label=None if label is None else str(label))


def _region(spec, items: list[Item], dossier_key, where: str) -> RegionSource | None:
    """``region:`` (SPEC 3.3): ``{item: <attribute item>}`` or ``dossier`` (``{dossier: true}``)."""
    if spec is None:
        return None
    if spec == "dossier" or (isinstance(spec, dict) and spec.get("dossier") is True and set(spec) == {"dossier"}):
        if not dossier_key:
            raise InstrumentError(f"{where}: region: dossier needs a dossier_key")
        return RegionSource(dossier=True)
    if isinstance(spec, dict) and set(spec) == {"item"}:
        return RegionSource(item=_attribute(spec["item"], items, "region", where))
    raise InstrumentError(f"{where}: region must be {{item: <attribute item>}} or 'dossier', got {spec!r}")


def _item_scheme(iid: str, spec, schemes: dict[str, AnswerScheme],
                 where: str) -> tuple[AnswerScheme, dict[str, AnswerScheme] | None]:
    """An item's ``scheme:``: a scheme name, or a map ``{wave: name, default: name}`` (SPEC 3.3)."""
    if isinstance(spec, dict):
        if not spec:
            raise InstrumentError(f"{where}: item {iid!r}: the scheme map is empty")
        by_wave = {}
        for wave, name in spec.items():
            if name not in schemes:
                raise InstrumentError(f"{where}: item {iid!r} uses unknown answer scheme {name!r} for wave {wave!r}")
            by_wave[str(wave)] = schemes[name]
        if len({s.text for s in by_wave.values()}) > 1:
            raise InstrumentError(f"{where}: item {iid!r}: an open-text scheme cannot be a version of a coded one")
        return by_wave.get("default", list(by_wave.values())[-1]), by_wave
    if not isinstance(spec, str) or spec not in schemes:
        raise InstrumentError(f"{where}: item {iid!r} uses unknown answer scheme {spec!r}")
    return schemes[spec], None


def _check_sources(instrument: Instrument, where: str) -> None:
    waves = {w for it in instrument.items if isinstance(it.source, dict) for w in it.source} | {"*"}
    for wave in waves:
        seen: dict[str, str] = {}
        for it in instrument.items:
            src = it.source_for(wave)
            if not src:
                continue
            key = normalise_column(src)
            if key in seen:
                raise InstrumentError(
                    f"{where}: items {seen[key]!r} and {it.item!r} both read column {src!r}"
                    + ("" if wave == "*" else f" in wave {wave!r}"))
            seen[key] = it.item


def load_all(folder: Path | None = None) -> dict[str, Instrument]:
    """Every ``*.yaml`` instrument in ``folder`` (default :func:`settings.instruments_dir`), by name."""
    folder = folder or settings.instruments_dir()
    return {p.stem: load_instrument(p) for p in sorted(Path(folder).glob("*.yaml"))}


def get_instrument(name: str, folder: Path | None = None) -> Instrument:
    """The instrument ``name``. Raises InstrumentError when no definition file exists."""
    folder = folder or settings.instruments_dir()
    path = Path(folder) / f"{name}.yaml"
    if not path.exists():
        raise InstrumentError(f"no instrument definition {path} for landing folder surveys/{name}/")
    return load_instrument(path)
