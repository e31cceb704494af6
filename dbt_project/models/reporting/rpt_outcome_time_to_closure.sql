-- reporting.outcome_time_to_closure: marts.outcome_time_to_closure under disclosure control (SPEC 6;
-- rule in macros/reporting/suppression.sql).
-- Cells: registration_year x service x region x status, status in (closed, censored, all = n_dossiers),
-- so n_dossiers = n_closed + n_censored is a margin like the region, service and year margins.
-- The Kaplan-Meier figures (median, p25, p75, closed within 365 d) are computed from the cohort's counts:
-- they are nulled when any of n_dossiers, n_closed, n_censored is withheld (0.769 x 13 would give a
-- withheld n_closed back). naive_median_closed_days (base: the closed dossiers) is nulled whenever
-- n_closed is withheld. First pass; orchestration/disclosure completes it after the build (SPEC 6).
-- max_follow_up_days of the mart (one dossier's value) is not published here.
with mart as (
    select * from {{ ref('outcome_time_to_closure') }}
),

cells as (
    {{ suppression_cells('mart', ['registration_year', 'service', 'region'], [
        ['dossiers', 'closed', 'n_closed'], ['dossiers', 'censored', 'n_censored'], ['dossiers', 'all', 'n_dossiers']]) }}
),

{{ reporting_suppress('cells', keys=['measure_group'], dims=['registration_year', 'service', 'region', 'status']) }},

flags as (
    {{ suppression_flags('cells_suppressed', ['registration_year', 'service', 'region'], [
        ['n_dossiers', "status = 'all'"],
        ['n_closed', "status = 'closed'"],
        ['n_censored', "status = 'censored'"]]) }}
)

select
    m.registration_year,
    m.service,
    m.region,
    case when f.n_dossiers_hidden = 0 then m.n_dossiers end as n_dossiers,
    case when f.n_closed_hidden = 0 then m.n_closed end as n_closed,
    case when f.n_censored_hidden = 0 then m.n_censored end as n_censored,
    case when f.n_dossiers_hidden + f.n_closed_hidden + f.n_censored_hidden = 0
        then cast(m.km_median_days as {{ dbt.type_bigint() }}) end as km_median_days,
    case when f.n_dossiers_hidden + f.n_closed_hidden + f.n_censored_hidden = 0
        then cast(m.km_p25_days as {{ dbt.type_bigint() }}) end as km_p25_days,
    case when f.n_dossiers_hidden + f.n_closed_hidden + f.n_censored_hidden = 0
        then cast(m.km_p75_days as {{ dbt.type_bigint() }}) end as km_p75_days,
    case when f.n_dossiers_hidden + f.n_closed_hidden + f.n_censored_hidden = 0
         then {{ reporting_round('m.km_closed_within_365d') }} end as km_closed_within_365d,
    case when f.n_closed_hidden = 0 then {{ reporting_round('m.naive_median_closed_days') }} end as naive_median_closed_days,
    f.n_dossiers_flag = 1 as n_dossiers_suppressed,
    f.n_closed_flag = 1 as n_closed_suppressed,
    f.n_censored_flag = 1 as n_censored_suppressed,
    f.n_dossiers_flag + f.n_closed_flag + f.n_censored_flag > 0 as suppressed
from mart as m
inner join flags as f
    on f.registration_year = cast(m.registration_year as {{ dbt.type_string() }})
    and f.service = cast(m.service as {{ dbt.type_string() }})
    and f.region = cast(m.region as {{ dbt.type_string() }})
