-- reporting.outcome_km_curve: the Kaplan-Meier curve of time from registration to closure at fixed days
-- (marts.outcome_km_grid) under disclosure control (SPEC 5, 6), for plots. Service 'all' rows only (per
-- registration_year x region, 'all' margins too).
-- A point S(t) gives the dossiers closed by day t away (1 - S(t) times n_dossiers) when no dossier of the cohort was
-- censored before t. First pass:
--   * the cohort's n_dossiers, n_closed and n_censored are shown as in reporting.outcome_time_to_closure; a cohort
--     with one of them withheld shows no point (its curve would give them back), nor does a point with fewer than
--     min_cell dossiers still followed;
--   * on an exact point (nobody censored before t) the dossiers closed by t, those not closed by t and those closed
--     since the previous grid day must each be 0 or at least min_cell, or the point is withheld;
--   * the dossiers closed by t add up along the year and region margins: where a margin group has one exact point
--     hidden (or not exact), another exact point of the group is withheld (macros/reporting/suppression.sql).
-- A point is withheld with its band (survival_suppressed). Points past the cohort's longest follow-up are null and not
-- flagged (not estimable). orchestration/disclosure completes the protection after the build (tables.py:
-- outcome_km_curve, with its links to outcome_time_to_closure).
with grid as (
    select * from {{ ref_or_empty('outcome_km_grid', [
        ['registration_year', dbt.type_string()], ['service', dbt.type_string()], ['region', dbt.type_string()],
        ['days', dbt.type_bigint()], ['n_dossiers', dbt.type_bigint()], ['n_closed_by_day', dbt.type_bigint()],
        ['n_censored_before_day', dbt.type_bigint()], ['n_at_risk', dbt.type_bigint()],
        ['survival', type_double()], ['ci_low', type_double()], ['ci_high', type_double()]]) }} as g
    where service = 'all'
),

cohorts as (
    select registration_year, service, region, n_dossiers, n_closed, n_censored
    from {{ ref('rpt_outcome_time_to_closure') }}
    where service = 'all'
),

steps as (
    select
        g.*,
        n_closed_by_day - coalesce(
            lag(n_closed_by_day) over (partition by registration_year, service, region order by days), 0
        ) as closed_since_previous_day
    from grid as g
),

flagged as (
    select
        s.*,
        c.n_dossiers as shown_n_dossiers,
        c.n_closed as shown_n_closed,
        c.n_censored as shown_n_censored,
        case
            when c.n_dossiers is null or c.n_closed is null or c.n_censored is null then 1
            -- fewer than min_cell dossiers still followed: a step of the curve there tells about 1-4 children
            when s.survival is not null and {{ reporting_is_small('s.n_at_risk') }} then 1
            when s.n_censored_before_day = 0
                and ({{ reporting_is_small('s.n_closed_by_day') }}
                     or {{ reporting_is_small('s.n_dossiers - s.n_closed_by_day') }}
                     or {{ reporting_is_small('s.closed_since_previous_day') }}) then 1
            else 0
        end as is_forced
    from steps as s
    left join cohorts as c
        on c.registration_year = s.registration_year and c.service = s.service and c.region = s.region
),

-- the dossiers closed by each day as cells along the year and region margins: a shown exact point gives its count
-- away, any other point does not (null: hidden to a reader); a margin group with one hidden cell gives it back by
-- subtraction, so reporting_suppress hides another exact point of the group
cells as (
    select
        days,
        registration_year,
        region,
        case when is_forced = 0 and n_censored_before_day = 0 then n_closed_by_day end as cell_value
    from flagged
),

{{ reporting_suppress('cells', keys=['days'], dims=['registration_year', 'region']) }},

decided as (
    select
        f.*,
        case when f.is_forced = 1 or (f.n_censored_before_day = 0 and c.is_hidden = 1) then 1 else 0 end as is_hidden
    from flagged as f
    inner join cells_suppressed as c
        on c.days = f.days and c.registration_year = f.registration_year and c.region = f.region
)

select
    registration_year,
    service,
    region,
    days,
    shown_n_dossiers as n_dossiers,
    shown_n_closed as n_closed,
    shown_n_censored as n_censored,
    case when is_hidden = 0 then {{ reporting_round('survival') }} end as survival,
    case when is_hidden = 0 then {{ reporting_round('ci_low') }} end as ci_low,
    case when is_hidden = 0 then {{ reporting_round('ci_high') }} end as ci_high,
    shown_n_dossiers is null as n_dossiers_suppressed,
    shown_n_closed is null as n_closed_suppressed,
    shown_n_censored is null as n_censored_suppressed,
    is_hidden = 1 and survival is not null as survival_suppressed,
    shown_n_dossiers is null or shown_n_closed is null or shown_n_censored is null
        or (is_hidden = 1 and survival is not null) as suppressed
from decided
