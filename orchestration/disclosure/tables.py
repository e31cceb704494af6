"""The published ``reporting`` tables as one linked system of cells (SPEC 6).

Every count a reporting table shows is a *cell*; a cell is either published (its value is in the
table) or withheld (null, ``<column>_suppressed`` true). What a reader can combine to narrow a withheld
cell is written down here as linear relations, the same relations an attacker would use:

- margins: along every dimension of an outcome table (year, service, region) the ``all`` row is the
  sum of the detail rows (an absent detail row is a published zero), also for a count kept once per group of
  rows (``practice_breadth.n_open`` per quarter x region x team);
- identities within a row: ``n_dossiers = n_closed + n_censored``, ``n_dossiers = n_observable +
  n_window_running``, ``n_observable = n_placed_365d + not placed`` (the complement is not shown but
  follows, so it is a *latent* cell that is protected like a shown one), columns that always equal
  another (``n_window_complete = n_observable``);
- identities between tables: the same registration cohort counted in ``outcome_time_to_closure`` and
  ``outcome_placement`` (``n_dossiers``), all closed dossiers in ``outcome_time_to_closure`` and
  ``outcome_reopening`` (``n_closed`` over all years), a region's complete windows and events in
  ``unit_comparison`` (team ``all``) and in ``outcome_placement`` / ``outcome_reopening`` (service ``all``), a
  region x year without a ``unit_comparison`` row being a zero there;
- counts known from elsewhere: ``panel_participation``'s responses over all waves (sum of number of waves x
  respondents), which the wave totals of ``item_distribution`` can give away, are taken as shown;
- categories: per item and wave, ``n_valid`` = the sum of ``n`` over the valid categories;
- Kaplan-Meier: ``km_closed_within_365d`` x ``n_dossiers`` gives the dossiers closed within 365 days
  when nobody was censored earlier; that count, and the closed-later and not-closed-within-365-days
  complements, are protected like shown counts (withholding it nulls ``km_closed_within_365d``);
- ratios: a published rate or percentage with a withheld numerator or denominator gives
  ``numerator = rate x denominator`` (the protection never publishes one, the audit still checks).

Everything computed from a count (rates, percentages, Kaplan-Meier figures, medians) is listed per
table in :attr:`TableSpec.derived` and withheld whenever one of its counts is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: The value of a dimension in a margin row.
TOTAL = "all"


@dataclass(frozen=True)
class TableSpec:
    """One reporting table (same keys in its ``marts`` table, where its true counts are).

    Attributes:
        name: table name in ``reporting`` (and in ``marts``, unless ``mart`` names another).
        keys: columns that identify a row (cast to text for cell ids).
        dims: the keys with margins: a row whose dim is :data:`TOTAL` is the sum over that dim (for counts,
            latent counts, magnitudes, and group counts whose group holds every dim).
        counts: published whole-number counts; each may have a ``<count>_suppressed`` flag column.
        magnitudes: published additive non-count columns -> the count whose withholding they follow
            (``placement_days`` follows ``n_placed_365d``).
        aliases: published column -> the count it always equals; withheld together.
        latent: unpublished counts that follow from shown ones -> ``{column: coefficient}`` (its value).
        row_equations: ``sum(coefficient x column) = 0`` on every row.
        group_counts: counts constant within a group of rows -> the group's columns (``n_valid`` per item).
        group_sums: ``(group count, row count, exclude column)``: the group count is the sum of the row
            count over the group's rows whose ``exclude column`` is false (or all rows, when absent).
        derived: column -> the counts, magnitudes or other shown columns it is computed from (nulled when one
            is withheld or null).
        ratios: ``(column, numerator, denominator, scale)`` with column = scale x numerator / denominator.
        proxies: counts the table does not show but that a shown column gives away -> that column
            (``km_closed_within_365d`` x ``n_dossiers`` = the dossiers closed within 365 days when nobody
            was censored earlier): the count is taken as shown while the column is, and withholding it
            nulls the column.
        proxy_exact_when_zero: proxy count -> a mart column; the proxy gives the count away exactly only
            on rows where that column is 0 (no censoring before day 365); elsewhere it is not shown.
        steps: latent counts between consecutive rows -> ``(count, order key)``: among the rows that share every
            key but the order key, ordered by it (numerically), the latent cell of a row is its count minus the
            previous row's (the first row: its count). ``outcome_km_curve``: the closures between two points
            of the curve, which two exact points give away.
        known: counts the table does not show but that a reader can know from other published tables -> the
            group's columns (one cell per group, read from the mart): taken as shown and never withheld here, unless
            below min_cell (then withheld wherever it is published, so a variable)
            (``panel_participation.n_participations``, the responses of an instrument's waves, which the wave
            totals of ``item_distribution`` can give away).
        weighted_sums: ``(total, row count, weight key)``: the total (a group count or known count) is the sum over
            its group's rows of the weight x the row count, the weight being the row's value of the weight key as a
            number (rows where it is not a number, the ``all`` row, are left out): ``n_participations`` = sum of
            ``n_waves_participated`` x ``n_respondents``.
        mart: the ``marts`` table holding the true counts (default: ``name``); the reporting table has the same
            rows, identified by ``keys``.
    """

    name: str
    keys: tuple[str, ...]
    dims: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    magnitudes: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    latent: dict[str, dict[str, int]] = field(default_factory=dict)
    row_equations: tuple[dict[str, int], ...] = ()
    group_counts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    group_sums: tuple[tuple[str, str, str | None], ...] = ()
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ratios: tuple[tuple[str, str, str, float], ...] = ()
    proxies: dict[str, str] = field(default_factory=dict)
    proxy_exact_when_zero: dict[str, str] = field(default_factory=dict)
    steps: dict[str, tuple[str, str]] = field(default_factory=dict)
    known: dict[str, tuple[str, ...]] = field(default_factory=dict)
    weighted_sums: tuple[tuple[str, str, str], ...] = ()
    mart: str = ""

    @property
    def mart_table(self) -> str:
        """The ``marts`` table with this table's true counts (``mart``, else ``name``)."""
        return self.mart or self.name

    @property
    def published(self) -> tuple[str, ...]:
        """Every count and magnitude column the table shows (aliases excluded)."""
        return self.counts + tuple(self.magnitudes) + tuple(self.group_counts)


@dataclass(frozen=True)
class Link:
    """``table_a.column_a`` = ``table_b.column_b`` on rows with equal ``on`` keys (pairs of key names),
    restricted to rows where the ``fixed_*`` keys have the given values.

    ``zero_when_absent``: table_a has a row wherever ``column_a`` would be positive (``unit_comparison`` has a row
    for every unit with a complete window), so a row of table_b without its table_a row shows ``column_b`` = 0 to a
    reader; an ``all`` value of table_b counts only where its table_a key is one of table_a's dims (has ``all``
    rows).
    """

    table_a: str
    column_a: str
    table_b: str
    column_b: str
    on: tuple[tuple[str, str], ...]
    fixed_a: dict[str, str] = field(default_factory=dict)
    fixed_b: dict[str, str] = field(default_factory=dict)
    zero_when_absent: bool = False


_KM = ("n_dossiers", "n_closed", "n_censored")

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="outcome_time_to_closure",
        keys=("registration_year", "service", "region"),
        dims=("registration_year", "service", "region"),
        counts=("n_dossiers", "n_closed", "n_censored", "n_closed_within_365d"),
        proxies={"n_closed_within_365d": "km_closed_within_365d"},
        proxy_exact_when_zero={"n_closed_within_365d": "n_censored_before_365d"},
        latent={"closed_after_365d": {"n_closed": 1, "n_closed_within_365d": -1},
                "not_closed_within_365d": {"n_dossiers": 1, "n_closed_within_365d": -1}},
        row_equations=({"n_dossiers": 1, "n_closed": -1, "n_censored": -1},),
        derived={"km_median_days": _KM, "km_p25_days": _KM, "km_p75_days": _KM,
                 "km_closed_within_365d": _KM, "naive_median_closed_days": ("n_closed",)},
    ),
    # the Kaplan-Meier curve on a grid of days (SPEC 5, 6): survival at day t gives the dossiers closed by day t away
    # (x n_dossiers) when nobody was censored before t; that count, the dossiers not closed by t and the closures
    # since the previous point are protected like shown counts. Only the service 'all' rows are published; every
    # cohort has every grid day (a day past its follow-up shows nothing), so the margins along year and region hold
    TableSpec(
        name="outcome_km_curve",
        mart="outcome_km_grid",
        keys=("registration_year", "service", "region", "days"),
        dims=("registration_year", "service", "region"),
        counts=("n_closed_by_day",),
        group_counts={c: ("registration_year", "service", "region") for c in ("n_dossiers", "n_closed", "n_censored")},
        proxies={"n_closed_by_day": "survival"},
        proxy_exact_when_zero={"n_closed_by_day": "n_censored_before_day"},
        latent={"not_closed_by_day": {"n_dossiers": 1, "n_closed_by_day": -1},
                "closed_after_day": {"n_closed": 1, "n_closed_by_day": -1}},
        row_equations=({"n_dossiers": 1, "n_closed": -1, "n_censored": -1},),
        steps={"closed_since_previous_day": ("n_closed_by_day", "days")},
        # a point beside a withheld cohort count would give it back (n = closed / (1 - S); closed after the day;
        # censored <= not closed by the day); the band follows its point
        derived={"survival": ("n_dossiers", "n_closed", "n_censored"), "ci_low": ("survival",),
                 "ci_high": ("survival",)},
    ),
    TableSpec(
        name="outcome_placement",
        keys=("registration_year", "service", "region"),
        dims=("registration_year", "service", "region"),
        counts=("n_dossiers", "n_observable", "n_placed_365d", "n_window_running", "placement_moves"),
        magnitudes={"placement_days": "n_placed_365d"},
        aliases={"n_window_complete": "n_observable"},
        latent={"not_placed": {"n_observable": 1, "n_placed_365d": -1}},
        row_equations=({"n_dossiers": 1, "n_observable": -1, "n_window_running": -1},),
        derived={"placement_rate": ("n_placed_365d", "n_observable"),
                 "placement_rate_ci_low": ("n_placed_365d", "n_observable"),
                 "placement_rate_ci_high": ("n_placed_365d", "n_observable"),
                 "moves_per_1000_days": ("placement_moves", "placement_days")},
        ratios=(("placement_rate", "n_placed_365d", "n_observable", 1.0),
                ("moves_per_1000_days", "placement_moves", "placement_days", 1000.0)),
    ),
    TableSpec(
        name="outcome_reopening",
        keys=("closure_year", "service", "region"),
        dims=("closure_year", "service", "region"),
        counts=("n_closed", "n_observable", "n_reopened_365d", "n_window_running"),
        aliases={"n_window_complete": "n_observable"},
        latent={"not_reopened": {"n_observable": 1, "n_reopened_365d": -1}},
        row_equations=({"n_closed": 1, "n_observable": -1, "n_window_running": -1},),
        derived={"reopening_rate": ("n_reopened_365d", "n_observable"),
                 "reopening_rate_ci_low": ("n_reopened_365d", "n_observable"),
                 "reopening_rate_ci_high": ("n_reopened_365d", "n_observable")},
        ratios=(("reopening_rate", "n_reopened_365d", "n_observable", 1.0),),
    ),
    # case audits (SPEC 4, 5): dossiers audited per region x team x period; teams lie within one region, so
    # team 'all' is the sum of the region's teams and region 'all' the sum of the regions' team-'all' rows
    # (no region 'all' x team rows); the complements not meeting the standard and not double-audited follow
    TableSpec(
        name="practice_depth",
        keys=("region", "team", "period"),
        dims=("region", "team"),
        counts=("n_audited", "n_meeting_standard", "n_double_audited"),
        latent={"not_meeting_standard": {"n_audited": 1, "n_meeting_standard": -1},
                "single_audited": {"n_audited": 1, "n_double_audited": -1}},
        derived={"mean_depth": ("n_audited",), "share_meeting_standard": ("n_meeting_standard", "n_audited"),
                 "kappa": ("n_double_audited",), "icc": ("n_double_audited",),
                 "n_rating_pairs": ("n_double_audited",)},
        ratios=(("share_meeting_standard", "n_meeting_standard", "n_audited", 1.0),),
    ),
    # breadth of practice per quarter (SPEC 5): open dossiers and, per SofS step, those with the step, per quarter x
    # region x team x event_type; n_open is one count per quarter x region x team (the same on every step's row);
    # margins as in practice_depth (team 'all' per region, region 'all' over the regions' team-'all' rows); the
    # complement without the step follows
    TableSpec(
        name="practice_breadth",
        keys=("quarter", "region", "team", "event_type"),
        dims=("region", "team"),
        counts=("n_with_step",),
        group_counts={"n_open": ("quarter", "region", "team")},
        latent={"without_step": {"n_open": 1, "n_with_step": -1}},
        derived={"share_with_step": ("n_with_step", "n_open"),
                 "share_with_step_ci_low": ("n_with_step", "n_open"),
                 "share_with_step_ci_high": ("n_with_step", "n_open")},
        ratios=(("share_with_step", "n_with_step", "n_open", 1.0),),
    ),
    TableSpec(
        name="item_distribution",
        keys=("instrument", "wave", "item", "value", "is_missing", "value_label"),
        counts=("n",),
        group_counts={"n_valid": ("instrument", "wave", "item")},
        group_sums=(("n_valid", "n", "is_missing"),),
        derived={"pct": ("n", "n_valid")},
        ratios=(("pct", "n", "n_valid", 100.0),),
    ),
    TableSpec(
        name="scale_reliability",
        keys=("instrument", "wave", "construct"),
        counts=("n_cases",),
        derived={"cronbach_alpha": ("n_cases",)},
    ),
    # survey means (SPEC 4, 5): per instrument x wave x measure, the respondents of every region x
    # respondent group add up to the 'all' rows along both dims (every response has one region, 'unknown'
    # included, and one group); mean, sd and the CI are computed from n_respondents
    TableSpec(
        name="construct_means",
        keys=("instrument", "wave", "measure_kind", "measure", "region", "respondent_group"),
        dims=("region", "respondent_group"),
        counts=("n_respondents",),
        derived={"mean": ("n_respondents",), "sd": ("n_respondents",), "ci_lower": ("n_respondents",),
                 "ci_upper": ("n_respondents",)},
    ),
    # panel participation (SPEC 4, 6): per instrument, the linkable respondents by the number of the instrument's waves
    # they took part in, and 'all' = the sum over the numbers (an absent number is a published zero). The responses of
    # all waves, n_participations = sum of number x respondents, can be known from the wave totals other tables publish
    # (item_distribution), so it is taken as known: with 'all' it would otherwise give two withheld numbers back
    TableSpec(
        name="panel_participation",
        mart="panel_participation_counts",
        keys=("instrument", "n_waves_participated"),
        dims=("n_waves_participated",),
        counts=("n_respondents",),
        known={"n_participations": ("instrument",)},
        weighted_sums=(("n_participations", "n_respondents", "n_waves_participated"),),
    ),
    # prospective studies (SPEC 9.1): per study x follow-up month, n_enrolled is the same in every month of a
    # study; n_due = n_observed + n_lost; the not-yet-due and without-feedback complements follow
    TableSpec(
        name="study_attrition",
        keys=("study", "follow_up_month"),
        counts=("n_due", "n_observed", "n_lost", "n_with_client_feedback", "n_with_child_feedback"),
        group_counts={"n_enrolled": ("study",)},
        latent={"not_yet_due": {"n_enrolled": 1, "n_due": -1},
                "due_without_client_feedback": {"n_due": 1, "n_with_client_feedback": -1},
                "due_without_child_feedback": {"n_due": 1, "n_with_child_feedback": -1}},
        row_equations=({"n_due": 1, "n_observed": -1, "n_lost": -1},),
    ),
    # comparative case research (SPEC 9.2): per exposure x exposed, the overall row and the one-way margins along
    # registration_year, service and region; complements of the complete windows and of the closures follow
    TableSpec(
        name="outcome_by_exposure",
        keys=("exposure", "exposed", "registration_year", "service", "region"),
        dims=("registration_year", "service", "region"),
        counts=("n_landmark", "n_window_complete", "n_placed_365d", "n_reopened_365d", "n_closed"),
        latent={"window_running": {"n_landmark": 1, "n_window_complete": -1},
                "not_placed": {"n_window_complete": 1, "n_placed_365d": -1},
                "not_reopened": {"n_window_complete": 1, "n_reopened_365d": -1},
                "not_closed": {"n_landmark": 1, "n_closed": -1}},
        derived={"placement_rate": ("n_placed_365d", "n_window_complete"),
                 "placement_rate_ci_low": ("n_placed_365d", "n_window_complete"),
                 "placement_rate_ci_high": ("n_placed_365d", "n_window_complete"),
                 "reopening_rate": ("n_reopened_365d", "n_window_complete"),
                 "reopening_rate_ci_low": ("n_reopened_365d", "n_window_complete"),
                 "reopening_rate_ci_high": ("n_reopened_365d", "n_window_complete"),
                 "km_median_days": ("n_landmark", "n_closed"), "km_median_ci_low": ("n_landmark", "n_closed"),
                 "km_median_ci_high": ("n_landmark", "n_closed"), "logrank_chi2": ("n_landmark", "n_closed"),
                 "logrank_p": ("n_landmark", "n_closed")},
        ratios=(("placement_rate", "n_placed_365d", "n_window_complete", 1.0),
                ("reopening_rate", "n_reopened_365d", "n_window_complete", 1.0)),
        # both arms together are known to a reader where no open dossier was followed less than the landmark day
        # (service 'all'; null in the mart elsewhere): the cohort's dossiers minus those closed by that day, from
        # outcome_km_curve; so one arm's n_landmark is the other's complement. (Their closures together, n_closed of
        # outcome_time_to_closure minus those closed by that day, are not declared: as constants they would pin the
        # small not-closed complement of a cohort whose n_censored is withheld, which no withholding here could
        # protect; declaring them needs a relation to those cells, not a constant.)
        known={"n_landmark_both_arms": ("exposure", "registration_year", "service", "region")},
        group_sums=(("n_landmark_both_arms", "n_landmark", None),),
    ),
    # fair comparison (SPEC 9.3): per indicator x region x team (published label, 'unknown', or 'all' for the region)
    # x period (a year or 'all'); every dossier has one team within one region and one period, so team 'all' is the
    # sum of the region's teams and period 'all' the sum of the years (no region 'all' rows). expected is a sum of
    # reference rates over the unit's dossiers (it gives n away approximately), the limits follow from n and expected;
    # O/E, the observed rate and the flag from observed and n; the complement not observed follows
    TableSpec(
        name="unit_comparison",
        mart="unit_comparison_by_label",
        keys=("indicator", "region", "team", "period"),
        dims=("team", "period"),
        counts=("n", "observed"),
        latent={"not_observed": {"n": 1, "observed": -1}},
        # expected gives n away approximately, and the expected of all regions of a period add up to their events
        # (reference rates over every unit): it follows observed too, and so does all that is computed from it
        derived={"expected": ("observed", "n"), "expected_rate": ("observed", "n"), "limit95_low": ("observed", "n"),
                 "limit95_high": ("observed", "n"), "limit998_low": ("observed", "n"),
                 "limit998_high": ("observed", "n"), "oe_ratio": ("observed", "n"),
                 "observed_rate": ("observed", "n"), "flag": ("observed", "n")},
        ratios=(("observed_rate", "observed", "n", 1.0),),
    ),
)

_PLACEMENT_REGION_YEAR = dict(on=(("region", "region"), ("period", "registration_year")), zero_when_absent=True,
                              fixed_a={"indicator": "placement_365d", "team": TOTAL}, fixed_b={"service": TOTAL})
_REOPENING_REGION_YEAR = dict(on=(("region", "region"), ("period", "closure_year")), zero_when_absent=True,
                              fixed_a={"indicator": "reopening_365d", "team": TOTAL}, fixed_b={"service": TOTAL})

LINKS: tuple[Link, ...] = (
    # the same registration cohort in two tables
    Link("outcome_time_to_closure", "n_dossiers", "outcome_placement", "n_dossiers",
         on=(("registration_year", "registration_year"), ("service", "service"), ("region", "region"))),
    # the same cohort in the curve and in the time-to-closure table: its dossiers, and those closed within 365 days
    *(Link("outcome_km_curve", c, "outcome_time_to_closure", c,
           on=(("registration_year", "registration_year"), ("service", "service"), ("region", "region")))
      for c in ("n_dossiers", "n_closed", "n_censored")),
    Link("outcome_km_curve", "n_closed_by_day", "outcome_time_to_closure", "n_closed_within_365d",
         on=(("registration_year", "registration_year"), ("service", "service"), ("region", "region")),
         fixed_a={"days": "365"}),
    # every closed dossier, by registration year in one table and by closure year in the other
    Link("outcome_time_to_closure", "n_closed", "outcome_reopening", "n_closed",
         on=(("service", "service"), ("region", "region")),
         fixed_a={"registration_year": TOTAL}, fixed_b={"closure_year": TOTAL}),
    # a region's row of the fair comparison (team 'all') counts the same complete windows and events as the outcome
    # tables' service 'all' row of that region and year ('all' = 'all'); a region x year without a unit_comparison
    # row has no complete window (SPEC 9.3)
    Link("unit_comparison", "n", "outcome_placement", "n_observable", **_PLACEMENT_REGION_YEAR),
    Link("unit_comparison", "observed", "outcome_placement", "n_placed_365d", **_PLACEMENT_REGION_YEAR),
    Link("unit_comparison", "n", "outcome_reopening", "n_observable", **_REOPENING_REGION_YEAR),
    Link("unit_comparison", "observed", "outcome_reopening", "n_reopened_365d", **_REOPENING_REGION_YEAR),
)

SPECS: dict[str, TableSpec] = {t.name: t for t in TABLES}
