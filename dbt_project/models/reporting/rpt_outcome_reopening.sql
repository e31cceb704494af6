-- reporting.outcome_reopening: marts.outcome_reopening under disclosure control (SPEC 6;
-- rule in macros/reporting/suppression.sql).
-- Cells: closure_year x service x region x status. Measure group 'observable': status reopened
-- (n_reopened_365d), not_reopened (n_observable - n_reopened_365d, not shown but derivable, so a small
-- complement is protected too) and all (n_observable). Measure groups 'closed' (n_closed) and 'running'
-- (n_window_running): margins only. n_window_complete equals n_observable and is withheld with it.
-- This is the first pass; orchestration/disclosure withholds more after the build where the
-- relations between columns and tables need it (SPEC 6).
-- reopening_rate is nulled when n_reopened_365d or n_observable is withheld.
with mart as (
    select * from {{ ref('outcome_reopening') }}
),

cells as (
    {{ suppression_cells('mart', ['closure_year', 'service', 'region'], [
        ['observable', 'reopened', 'n_reopened_365d'],
        ['observable', 'not_reopened', 'n_observable - n_reopened_365d'],
        ['observable', 'all', 'n_observable'],
        ['closed', 'all', 'n_closed'],
        ['running', 'all', 'n_window_running']]) }}
),

{{ reporting_suppress('cells', keys=['measure_group'], dims=['closure_year', 'service', 'region', 'status']) }},

flags as (
    {{ suppression_flags('cells_suppressed', ['closure_year', 'service', 'region'], [
        ['n_observable', "measure_group = 'observable' and status = 'all'"],
        ['n_reopened', "measure_group = 'observable' and status = 'reopened'"],
        ['n_closed', "measure_group = 'closed'"],
        ['running', "measure_group = 'running'"]]) }}
)

select
    m.closure_year,
    m.service,
    m.region,
    case when f.n_observable_hidden = 0 then m.n_observable end as n_observable,
    case when f.n_reopened_hidden = 0 then m.n_reopened_365d end as n_reopened_365d,
    case when f.n_observable_hidden = 0 and f.n_reopened_hidden = 0 then {{ reporting_round('m.reopening_rate') }} end as reopening_rate,
    case when f.n_closed_hidden = 0 then m.n_closed end as n_closed,
    case when f.n_observable_hidden = 0 then m.n_window_complete end as n_window_complete,
    case when f.running_hidden = 0 then m.n_window_running end as n_window_running,
    -- the Wilson interval (as marts.outcome_reopening's, from the same counts), withheld with the rate (SPEC 6, 9.3)
    case when f.n_observable_hidden = 0 and f.n_reopened_hidden = 0
        then {{ reporting_round(wilson_low('m.n_reopened_365d', 'm.n_observable')) }} end as reopening_rate_ci_low,
    case when f.n_observable_hidden = 0 and f.n_reopened_hidden = 0
        then {{ reporting_round(wilson_high('m.n_reopened_365d', 'm.n_observable')) }} end as reopening_rate_ci_high,
    f.n_observable_flag = 1 as n_observable_suppressed,
    f.n_reopened_flag = 1 as n_reopened_365d_suppressed,
    f.n_closed_flag = 1 as n_closed_suppressed,
    f.n_observable_flag = 1 as n_window_complete_suppressed,
    f.running_flag = 1 as n_window_running_suppressed,
    f.n_observable_flag + f.n_reopened_flag + f.n_closed_flag + f.running_flag > 0 as suppressed
from mart as m
inner join flags as f
    on f.closure_year = cast(m.closure_year as {{ dbt.type_string() }})
    and f.service = cast(m.service as {{ dbt.type_string() }})
    and f.region = cast(m.region as {{ dbt.type_string() }})
