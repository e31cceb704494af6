"""The codebook: ``codebook.md`` and DDI-Codebook-shaped ``codebook.json`` (SPEC 3.3, 4, 6).

One ``var`` per survey item and wave, with the names and codes it has in the exported files (the wide
survey file's SPSS and Stata names, the export code of each missing reason: SPSS user-missing value and
Stata extended missing ``.a``, ``.b``, ...), every reporting table and mart with its column
descriptions and Stata names, and the conventions of ``.sav``/``.dta`` files (``all`` margins = 0,
booleans 0/1, the code lists of SPEC 3.4).

Counts come only from ``reporting.item_distribution`` (disclosure-controlled and audited, SPEC 6):
categories from its rows with a value, missing reasons from its ``is_missing`` rows; declared missing
codes from each wave's recorded scheme version (``raw.survey_items.scheme_labels``, SPEC 3.3).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd

from orchestration import settings, warehouse
from orchestration.research import labels as lb
from orchestration.research.survey import _json, _valid_values, export_names, missing_export_codes
from orchestration.research.tables import (column_labels, columns, is_restricted, load_manifest,
                                           suppression_rule, table_label, tables)
from orchestration.research.writers import STATA_MISSING_LETTERS


def _fmt_code(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def _declared_missing(scheme_labels) -> dict[str, str]:
    """Declared missing codes -> reasons of one item in one wave, from the scheme version the wave was
    loaded with (``raw.survey_items.scheme_labels``, SPEC 3.3); empty when not recorded."""
    if not isinstance(scheme_labels, str) or not scheme_labels:
        return {}
    try:
        return {str(k): str(v) for k, v in (json.loads(scheme_labels).get("missing") or {}).items()}
    except (ValueError, AttributeError):
        return {}


def _codebook_data(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict:
    """Collect everything the codebook shows, deterministically ordered."""
    min_cell = suppression_rule(con).get("min_cell", settings.min_cell())
    if "survey_items" not in tables(con, "raw"):
        items = pd.DataFrame(columns=["instrument", "wave", "item", "item_text", "role", "construct", "reverse",
                                      "scheme", "scheme_min", "scheme_max", "is_nominal", "is_text",
                                      "source_column", "instrument_version", "scheme_labels", "scheme_coding"])
        waves = pd.DataFrame(columns=["instrument", "wave", "population", "title", "fieldwork_start",
                                      "fieldwork_end", "anonymised"])
        constructs = pd.DataFrame(columns=["instrument", "wave", "construct", "label"])
        value_labels = pd.DataFrame(columns=["instrument", "wave", "item", "value", "label"])
    else:
        items = con.sql("""select instrument, wave, item, item_text, role, construct, reverse, scheme, scheme_min,
                                  scheme_max, is_nominal, is_text, source_column, instrument_version,
                                  scheme_labels, scheme_coding
                           from raw.survey_items order by all""").df()
        waves = con.sql("""select instrument, wave, population, title, fieldwork_start, fieldwork_end, anonymised
                           from raw.survey_waves order by all""").df()
        constructs = con.sql("select distinct instrument, wave, construct, label from raw.survey_constructs "
                             "order by all").df()
        value_labels = con.sql("select distinct instrument, wave, item, value, label from raw.survey_value_labels "
                               "order by all").df()
    source = None
    # Counts only from reporting (disclosure-controlled, audited; SPEC 6): categories are the rows with a
    # value, missing reasons the is_missing rows. Without reporting the codebook lists no counts.
    freq = pd.DataFrame(columns=["instrument", "wave", "item", "value", "value_label", "n", "n_valid", "pct",
                                 "n_suppressed"])
    missing = pd.DataFrame(columns=["instrument", "wave", "item", "missing_reason", "n", "n_suppressed"])
    if "item_distribution" in tables(con, "reporting"):
        source = "reporting.item_distribution"
        freq = con.sql("""select instrument, wave, item, value, value_label, n, n_valid, pct, n_suppressed
                          from reporting.item_distribution where value is not null order by all""").df()
        if "is_missing" in columns(con, "reporting", "item_distribution"):
            missing = con.sql("""select instrument, wave, item, value_label as missing_reason, n, n_suppressed
                                 from reporting.item_distribution where is_missing order by all""").df()
    names = {i: export_names(con, i) for i in sorted(set(items["instrument"]))}
    return {"items": items, "waves": waves, "export_names": names, "constructs": constructs, "freq": freq, "missing": missing,
            "value_labels": value_labels,
            "source": source, "min_cell": int(min_cell)}


def _num(value):
    """A JSON-safe number: int for whole numbers, float otherwise, None for null/NaN/NA."""
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _iso(value) -> str | None:
    """A date (date, Timestamp, datetime64) as YYYY-MM-DD; None for null."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date().isoformat()


def _text(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _codebook_document(data: dict, table_docs: list[dict]) -> dict:
    items, waves, freq, missing = data["items"], data["waves"], data["freq"], data["missing"]
    construct_labels = {(r.instrument, r.wave, r.construct): _text(r.label)
                        for r in data["constructs"].itertuples(index=False)}
    file_dscr, variables, groups = [], [], {}
    for w in waves.itertuples(index=False):
        versions = sorted({_text(v) or "" for v in items.loc[(items["instrument"] == w.instrument)
                                                             & (items["wave"] == w.wave), "instrument_version"]})
        file_dscr.append({
            "ID": f"F_{w.instrument}_{w.wave}", "instrument": w.instrument, "wave": w.wave,
            "fileTxt": {"fileName": f"{w.instrument}/{w.wave}", "fileCont": _text(w.title)},
            "population": _text(w.population), "instrumentVersion": ", ".join(versions) or None,
            "fieldworkStart": _iso(w.fieldwork_start), "fieldworkEnd": _iso(w.fieldwork_end),
            "anonymised": None if pd.isna(w.anonymised) else bool(w.anonymised),
        })
    freq_by = {k: g for k, g in freq.groupby(["instrument", "wave", "item"], sort=True)} if len(freq) else {}
    miss_by = {k: g for k, g in missing.groupby(["instrument", "wave", "item"], sort=True)} if len(missing) else {}
    vl = data["value_labels"]
    labels_by = {k: g for k, g in vl.groupby(["instrument", "wave", "item"], sort=True)} if len(vl) else {}
    min_cell = data["min_cell"]
    for it in items.sort_values(["instrument", "item", "wave"], kind="mergesort").itertuples(index=False):
        key = (it.instrument, it.wave, it.item)
        version = _text(it.instrument_version)
        declared = _declared_missing(getattr(it, "scheme_labels", None))
        text = _text(it.item_text) or ""
        var = {
            "ID": f"V_{it.instrument}_{it.wave}_{it.item}", "name": it.item, "files": f"F_{it.instrument}_{it.wave}",
            "instrument": it.instrument, "wave": it.wave, "instrumentVersion": version,
            "labl": lb.fit_label(text, 80, "dta") or it.item,
            "qstn": {"qstnLit": text}, "role": it.role, "scheme": it.scheme,
            "sourceColumn": _text(it.source_column), "reverseScored": bool(it.reverse),
            "concept": construct_labels.get(key[:2] + (it.construct,)) or _text(it.construct),
            "construct": _text(it.construct),
        }
        if not bool(it.is_text):
            var["exportNames"] = data["export_names"].get(it.instrument, {}).get(it.item)
        if bool(it.is_text):
            var.update({"varFormat": {"type": "character"}, "intrvl": "contin", "catgry": [],
                        "notes": "open answer: stored masked in restricted.open_answers only; never exported (SPEC 6)"})
            variables.append(var)
            continue
        var.update({"varFormat": {"type": "numeric"}, "intrvl": "discrete",
                    "nature": "nominal" if bool(it.is_nominal) else "ordinal",
                    "valrng": {"min": _num(it.scheme_min), "max": _num(it.scheme_max)}})
        valid: dict[float, dict] = {}
        lg = labels_by.get(key)
        if lg is not None:  # every labelled category of the scheme, also when no frequency is available
            for r in lg.itertuples(index=False):
                valid[float(r.value)] = {"catValu": _fmt_code(r.value), "labl": _text(r.label), "missing": "N",
                                         "catStat": [{"type": "freq", "value": None, "suppressed": False},
                                                     {"type": "percent", "value": None}]}
        g = freq_by.get(key)
        n_valid, n_valid_suppressed = None, False
        if g is not None:
            for r in g.itertuples(index=False):
                suppressed = bool(r.n_suppressed) if hasattr(r, "n_suppressed") else False
                valid[float(r.value)] = {
                    "catValu": _fmt_code(r.value), "labl": _text(r.value_label), "missing": "N",
                    "catStat": [{"type": "freq", "value": _num(r.n), "suppressed": suppressed},
                                {"type": "percent", "value": _num(r.pct)}]}
            n_valid = _num(g["n_valid"].iloc[0])
            n_valid_suppressed = n_valid is None
        cats = [valid[v] for v in sorted(valid)]
        # missing reasons as reporting shows them (n withheld there below min_cell); declared codes that
        # nobody used are listed with 0; the code of a reason comes from the wave's recorded scheme
        code_of = {reason: code for code, reason in declared.items()}
        missing_rows: dict[str, tuple[float | None, bool]] = {}
        mg = miss_by.get(key)
        if mg is not None:
            for r in mg.itertuples(index=False):
                missing_rows[_text(r.missing_reason) or ""] = (_num(r.n), bool(r.n_suppressed))
        for code, reason in declared.items():
            missing_rows.setdefault(reason, (0, False))
        coding, scheme_texts = _json(getattr(it, "scheme_coding", None)), _json(getattr(it, "scheme_labels", None))
        valid_values = _valid_values(coding, {float(k): v for k, v in (scheme_texts.get("labels") or {}).items()})
        export_code = missing_export_codes(declared, valid_values, [r for r in missing_rows if r not in code_of])
        letters = {c: "." + STATA_MISSING_LETTERS[i] for i, c in enumerate(sorted(set(export_code.values())))}
        n_invalid, invalid_withheld = 0, False
        for reason, (n, withheld) in sorted(missing_rows.items(), key=lambda kv: (code_of.get(kv[0], ""), kv[0])):
            if n is None:
                invalid_withheld = True
            else:
                n_invalid += n
            code = export_code.get(code_of.get(reason, reason))
            cats.append({"catValu": code_of.get(reason, ""), "labl": reason, "missing": "Y",
                         "catStat": [{"type": "freq", "value": n, "suppressed": withheld}],
                         "exportCode": None if code is None else {"sav": _num(code), "dta": letters[code]}})
        var["catgry"] = cats
        # the invalid total is withheld whenever one of its parts is (it would give the part back)
        var["sumStat"] = [{"type": "vald", "value": n_valid, "suppressed": n_valid_suppressed},
                          {"type": "invd", "value": None if invalid_withheld or 0 < n_invalid < min_cell else n_invalid,
                           "suppressed": invalid_withheld or 0 < n_invalid < min_cell}]
        variables.append(var)
        if it.construct is not None and not (isinstance(it.construct, float) and math.isnan(it.construct)):
            gid = f"G_{it.instrument}_{it.wave}_{it.construct}"
            groups.setdefault(gid, {"ID": gid, "name": it.construct,
                                    "labl": construct_labels.get(key[:2] + (it.construct,)) or it.construct,
                                    "var": []})["var"].append(var["ID"])
    return {
        "codeBook": {
            "docDscr": {"citation": {"titlStmt": {"titl": "sofs-warehouse codebook"}},
                        "notes": (f"Frequencies from {data['source'] or 'no item distribution (not built)'}; "
                                  f"counts below {data['min_cell']} withheld (null, suppressed = true) with "
                                  "secondary suppression (SPEC 6). Missing categories: declared missing codes "
                                  "(missing = Y) with the number of answers that used them.")},
            "stdyDscr": {"citation": {"titlStmt": {"titl": "Signs of Safety outcome evaluation (sofs-warehouse)"}}},
            "fileDscr": file_dscr,
            "dataDscr": {"varGrp": [groups[k] for k in sorted(groups)], "var": variables},
        },
        "exportConventions": export_conventions(),
        "tables": table_docs,
        "indicators": indicator_definitions(),
    }


def indicator_definitions() -> list[dict]:
    """The dashboard's indicators with their definitions, from the indicator registry (SPEC 8): ``id``,
    ``title``, ``table`` (reporting), ``numerator``, ``denominator``, ``exclusions``, ``spec`` (the
    docs/SPEC.md section). The dashboard and the codebook read the same file."""
    from orchestration.dashboard.registry import load_registry

    return [{"id": i.id, "title": i.title, "table": f"reporting.{i.table}", "numerator": i.numerator,
             "denominator": i.denominator, "exclusions": i.exclusions, "spec": i.spec}
            for i in load_registry().indicators]


def _table_dictionary(con: duckdb.DuckDBPyConnection, manifest: dict) -> list[dict]:
    """Every reporting table and mart with its description and column descriptions (for the codebook)."""
    out = []
    for schema in ("reporting", "marts"):
        for name in tables(con, schema):
            if schema == "marts" and is_restricted(con, schema, name, manifest):
                continue
            labels = column_labels(con, schema, name, manifest)
            cols = columns(con, schema, name)
            stata = lb.safe_names(cols, "dta")
            out.append({"name": f"{schema}.{name}", "description": table_label(con, schema, name, manifest),
                        "columns": [{"name": c, "description": labels[c], "stataName": stata[c]} for c in cols]})
    return out


def _md_escape(text) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def _codebook_markdown(doc: dict) -> str:
    cb = doc["codeBook"]
    lines = ["# Codebook", "", cb["docDscr"]["notes"], ""]
    files = {f["ID"]: f for f in cb["fileDscr"]}
    by_instrument: dict[str, list[dict]] = {}
    for var in cb["dataDscr"]["var"]:
        by_instrument.setdefault(var["instrument"], []).append(var)
    for instrument in sorted(by_instrument):
        lines += [f"## Instrument `{instrument}`", "", "| wave | title | population | instrument version | fieldwork |",
                  "|---|---|---|---|---|"]
        for f in sorted((f for f in files.values() if f["instrument"] == instrument), key=lambda f: f["wave"]):
            fieldwork = " to ".join(x for x in (f["fieldworkStart"], f["fieldworkEnd"]) if x) or "-"
            lines.append(f"| {_md_escape(f['wave'])} | {_md_escape(f['fileTxt']['fileCont'])} | "
                         f"{_md_escape(f['population'])} | {_md_escape(f['instrumentVersion'])} | {fieldwork} |")
        lines.append("")
        current = None
        for var in by_instrument[instrument]:
            if var["name"] != current:
                current = var["name"]
                lines += [f"### `{var['name']}`", ""]
                if var.get("construct"):
                    lines += [f"Construct: {var['construct']} ({_md_escape(var.get('concept'))})", ""]
            lines += [f"#### {var['name']}, wave {var['wave']}", "",
                      f"- Question: {_md_escape(var['qstn']['qstnLit']) or '-'}",
                      f"- Label: {_md_escape(var['labl'])}",
                      f"- Role: {var['role']}; scheme: {var['scheme']}; source column: "
                      f"{_md_escape(var.get('sourceColumn')) or '-'}; reverse-scored: "
                      f"{'yes' if var['reverseScored'] else 'no'}; instrument version: "
                      f"{_md_escape(var['instrumentVersion']) or '-'}"]
            if var.get("exportNames"):
                names = var["exportNames"]
                lines.append(f"- In `export survey` files: SPSS `{names['sav']}`, Stata `{names['dta']}`")
            if var.get("notes"):
                lines += [f"- {var['notes']}", ""]
                continue
            vald = next(s for s in var["sumStat"] if s["type"] == "vald")
            lines += [f"- Valid answers: {_show(vald['value'], vald['suppressed'])}", "",
                      "| code | label | missing | n | % | code in .sav / .dta |", "|---|---|---|---|---|---|"]
            for c in var["catgry"]:
                freq = next(s for s in c["catStat"] if s["type"] == "freq")
                pct = next((s["value"] for s in c["catStat"] if s["type"] == "percent"), None)
                lines.append(f"| {_md_escape(c['catValu'])} | {_md_escape(c['labl'])} | "
                             f"{'yes' if c['missing'] == 'Y' else ''} | {_show(freq['value'], freq['suppressed'])} | "
                             f"{'' if pct is None else f'{pct:.1f}'} | {_export_code(c)} |")
            lines.append("")
    conv = doc.get("exportConventions")
    if conv:
        lines += ["## Codes in .sav and .dta files", "", *[f"- {rule}" for rule in conv["rules"]], "",
                  "| variable | code | label |", "|---|---|---|"]
        for var, codes in conv["codeLists"].items():
            lines += [f"| `{var}` | {code} | {_md_escape(label)} |" for code, label in codes.items()]
        lines.append("")
    if doc.get("indicators"):
        lines += ["## Indicators of the dashboard", "", "Definitions from the indicator registry (data/indicators.yaml), "
                  "as the dashboard shows them (Dutch).", "",
                  "| indicator | title | table | numerator | denominator | exclusions | SPEC |", "|---|---|---|---|---|---|---|"]
        lines += [f"| `{i['id']}` | {_md_escape(i['title'])} | `{i['table']}` | {_md_escape(i['numerator'])} | "
                  f"{_md_escape(i['denominator'])} | {_md_escape(i['exclusions'])} | {i['spec']} |"
                  for i in doc["indicators"]]
        lines.append("")
    if doc.get("tables"):
        lines += ["## Tables", ""]
        for t in doc["tables"]:
            lines += [f"### `{t['name']}`", "", _md_escape(t["description"]), "", "| column | Stata name | description |",
                      "|---|---|---|"]
            lines += [f"| `{c['name']}` | `{c['stataName']}` | {_md_escape(c['description'])} |" for c in t["columns"]]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _export_code(cat: dict) -> str:
    code = cat.get("exportCode")
    if cat["missing"] != "Y":
        return cat["catValu"]
    return "" if not code else f"{_fmt_code(code['sav'])} (user-missing) / {code['dta']}"


def export_conventions() -> dict:
    """How ``.sav`` and ``.dta`` files code what is text in the warehouse."""
    code_lists = {var: {str(lb.TOTAL_CODE): lb.TOTAL_LABEL} | {str(c): label for _, (c, label) in codes.items()}
                  for var, codes in lb.CODE_LISTS.items()}
    return {
        "rules": [
            f"The `{lb.TOTAL}` rows of a margin (service, region, *_year, ... = '{lb.TOTAL}') are code "
            f"{lb.TOTAL_CODE}, labelled '{lb.TOTAL_LABEL}'; other years keep their number.",
            "Booleans are 0 = no, 1 = yes.",
            "Counts are whole numbers (F12.0); a withheld count (reporting, SPEC 6) is system-missing, with "
            "its <count>_suppressed flag.",
            "Stata names have at most 32 characters: longer names are abbreviated by dropping the vowels of "
            "the longest words first (days_closure_to_next_registration -> days_closure_to_next_rgstrtn); "
            "each table lists its Stata names. Value-label sets carry their variable's name.",
            "Survey files (`export survey`): one variable per item, named by its item id; a declared missing "
            "code is an SPSS user-missing value and a Stata extended missing value (.a for the lowest code, "
            ".b for the next, ...), labelled with its reason; a code that is not a number (A9) gets -1, -2, "
            "...; CSV and Parquet leave the value empty and name the reason in <item>_missing.",
            "Labels longer than the format allows (SPSS: variable labels 256 bytes, value labels 120, file "
            "label 64; Stata: 80 characters) are cut between words and end in '...'; the full text is here.",
        ],
        "codeLists": code_lists,
    }


def _show(value, suppressed: bool) -> str:
    if suppressed:
        return "suppressed"
    return "-" if value is None else str(value)


def dump_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_codebook(con: duckdb.DuckDBPyConnection, out_dir: Path, manifest: dict) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = _codebook_document(_codebook_data(con, manifest), _table_dictionary(con, manifest))
    md, js = out_dir / "codebook.md", out_dir / "codebook.json"
    md.write_text(_codebook_markdown(doc), encoding="utf-8")
    dump_json(doc, js)
    return md, js


def build_codebook(out_dir: Path) -> tuple[Path, Path]:
    """Write ``codebook.md`` and ``codebook.json`` into ``out_dir``; return both paths (Markdown, JSON).

    One variable per survey item and wave (SPEC 3.3, 4, 5), shaped after DDI-Codebook:
    ``codeBook.dataDscr.var[]`` with ``name`` (item id), ``labl``, ``qstn.qstnLit`` (literal question
    text), ``catgry[]`` (``catValu`` code, ``labl`` label, ``catStat`` [{type freq, value, suppressed},
    {type percent, value}], ``missing`` "N"/"Y"), ``sumStat`` (vald / invd counts), plus ``instrument``,
    ``wave``, ``instrumentVersion``, ``scheme``, ``sourceColumn``, ``reverseScored``, ``construct``;
    ``varGrp`` per construct; ``fileDscr`` per instrument x wave (fieldwork dates, population, version);
    ``tables``: every reporting table and mart with its column descriptions; ``indicators``: the
    dashboard's indicator definitions (:func:`indicator_definitions`).

    Sources: raw.survey_items / survey_waves / survey_constructs (texts, schemes, versions),
    reporting.item_distribution only for every count (categories, and missing reasons from its
    ``is_missing`` rows: disclosure-controlled and audited, SPEC 6; without reporting no counts are
    listed), and each wave's recorded answer-scheme version (``raw.survey_items.scheme_labels``, SPEC 3.3)
    for the codes of missing reasons and declared codes that nobody used. The invalid total is withheld
    when any missing count is. Deterministic: sorted, no timestamps.

    Raises:
        FileNotFoundError: no warehouse yet.
        DisclosureAuditFailed: the disclosure audit of the reporting tables fails (SPEC 6).
    """
    from orchestration.disclosure.protect import require_protected

    out_dir = Path(out_dir)
    with warehouse.read_connection() as con:
        if "item_distribution" in tables(con, "reporting"):
            require_protected(con, int(suppression_rule(con).get("min_cell") or settings.min_cell()), "codebook")
        return write_codebook(con, out_dir, load_manifest())


