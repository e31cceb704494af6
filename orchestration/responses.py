"""Decisions on survey responses that do not depend on the export format (SPEC 5)."""
from __future__ import annotations

import pandas as pd


def mark_superseded(responses: pd.DataFrame, source_file: str = "") -> tuple[pd.Series, list[str]]:
    """Where one respondent answered a wave more than once (about the same dossier, when the response names
    one), keep one response (SPEC 5). An auditor who scores several dossiers in a wave gives one response
    per dossier, and all of them stand.

    The latest complete response stands (latest ``submitted_at``, then the highest source line); when
    none is complete, the latest incomplete one (highest source line). The others are not deleted:
    they are flagged superseded and left out of the marts.

    Args:
        responses: the reader's ``responses`` frame (needs respondent_id, response_id, is_complete,
            submitted_at, source_line; dossier_id when the instrument links dossiers).
    Returns:
        (``is_superseded`` bool Series aligned with ``responses``, one logged decision per respondent).
    """
    flags = pd.Series(False, index=responses.index)
    notes: list[str] = []
    linked = responses[responses["respondent_id"].notna()]
    by = ["respondent_id", "dossier_id"] if "dossier_id" in linked else ["respondent_id"]
    for _, group in linked.groupby(by, sort=False, dropna=False):
        if len(group) < 2:
            continue
        complete = group[group["is_complete"]]
        pool = complete if len(complete) else group
        ordered = pool.assign(_ts=pool["submitted_at"].fillna(pd.Timestamp.min)).sort_values(["_ts", "source_line"])
        keep = ordered.index[-1]
        dropped = group.index.drop(keep)
        flags.loc[dropped] = True
        kept_row = responses.loc[keep]
        about = " about one dossier" if len(by) == 2 and pd.notna(kept_row["dossier_id"]) else ""
        dropped_desc = ", ".join(
            f"response {responses.at[i, 'response_id']} (line {responses.at[i, 'source_line']}, "
            f"{'complete' if responses.at[i, 'is_complete'] else 'incomplete'})" for i in dropped)
        notes.append(
            f"{source_file}: one respondent answered {len(group)} times{about}; kept response {kept_row['response_id']} "
            f"(line {kept_row['source_line']}, {'latest complete' if len(complete) else 'latest, none complete'}), "
            f"superseded {dropped_desc}")
    return flags, notes
