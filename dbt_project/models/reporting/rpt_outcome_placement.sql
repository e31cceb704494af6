-- reporting.outcome_placement: marts.outcome_placement under disclosure control (SPEC 6;
-- rule in macros/reporting/suppression.sql).
-- Cells: registration_year x service x region x status. Measure group 'observable': placed
-- (n_placed_365d), not_placed (n_observable - n_placed_365d, derivable, so protected too), all
-- (n_observable). Measure groups 'dossiers' (n_dossiers), 'running' (n_window_running) and 'moves'
-- (placement_moves): margins only. n_window_complete equals n_observable and is withheld with it.
-- This is the first pass; orchestration/disclosure withholds more after the build where the
-- relations between columns and tables need it (SPEC 6).
-- placement_days (a sum of days, not a count) is withheld exactly where n_placed_365d is, so it inherits
-- that protected pattern; placement_rate is nulled when n_placed_365d or n_observable is withheld,
-- moves_per_1000_days when placement_moves or placement_days is withheld.
with mart as (
    select * from {{ ref('outcome_placement') }}
),

cells as (
    {{ suppression_cells('mart', ['registration_year', 'service', 'region'], [
        ['observable', 'placed', 'n_placed_365d'],
        ['observable', 'not_placed', 'n_observable - n_placed_365d'],
        ['observable', 'all', 'n_observable'],
        ['dossiers', 'all', 'n_dossiers'],
        ['running', 'all', 'n_window_running'],
        ['moves', 'all', 'placement_moves']]) }}
),

{{ reporting_suppress('cells', keys=['measure_group'], dims=['registration_year', 'service', 'region', 'status']) }},

flags as (
    {{ suppression_flags('cells_suppressed', ['registration_year', 'service', 'region'], [
        ['n_observable', "measure_group = 'observable' and status = 'all'"],
        ['n_placed', "measure_group = 'observable' and status = 'placed'"],
        ['n_dossiers', "measure_group = 'dossiers'"],
        ['moves', "measure_group = 'moves'"],
        ['running', "measure_group = 'running'"]]) }}
)

select
    m.registration_year,
    m.service,
    m.region,
    case when f.n_observable_hidden = 0 then m.n_observable end as n_observable,
    case when f.n_placed_hidden = 0 then m.n_placed_365d end as n_placed_365d,
    case when f.n_observable_hidden = 0 and f.n_placed_hidden = 0 then {{ reporting_round('m.placement_rate') }} end as placement_rate,
    case when f.n_placed_hidden = 0 then cast(m.placement_days as {{ dbt.type_bigint() }}) end as placement_days,
    case when f.moves_hidden = 0 then m.placement_moves end as placement_moves,
    case when f.moves_hidden = 0 and f.n_placed_hidden = 0 then {{ reporting_round('m.moves_per_1000_days') }} end as moves_per_1000_days,
    case when f.n_dossiers_hidden = 0 then m.n_dossiers end as n_dossiers,
    case when f.n_observable_hidden = 0 then m.n_window_complete end as n_window_complete,
    case when f.running_hidden = 0 then m.n_window_running end as n_window_running,
    -- the Wilson interval (as marts.outcome_placement's, from the same counts), withheld with the rate (SPEC 6, 9.3)
    case when f.n_observable_hidden = 0 and f.n_placed_hidden = 0
        then {{ reporting_round(wilson_low('m.n_placed_365d', 'm.n_observable')) }} end as placement_rate_ci_low,
    case when f.n_observable_hidden = 0 and f.n_placed_hidden = 0
        then {{ reporting_round(wilson_high('m.n_placed_365d', 'm.n_observable')) }} end as placement_rate_ci_high,
    f.n_observable_flag = 1 as n_observable_suppressed,
    f.n_placed_flag = 1 as n_placed_365d_suppressed,
    f.n_placed_flag = 1 and m.placement_days is not null as placement_days_suppressed,
    f.moves_flag = 1 as placement_moves_suppressed,
    f.n_dossiers_flag = 1 as n_dossiers_suppressed,
    f.n_observable_flag = 1 as n_window_complete_suppressed,
    f.running_flag = 1 as n_window_running_suppressed,
    f.n_observable_flag + f.n_placed_flag + f.moves_flag + f.n_dossiers_flag + f.running_flag > 0 as suppressed
from mart as m
inner join flags as f
    on f.registration_year = cast(m.registration_year as {{ dbt.type_string() }})
    and f.service = cast(m.service as {{ dbt.type_string() }})
    and f.region = cast(m.region as {{ dbt.type_string() }})
