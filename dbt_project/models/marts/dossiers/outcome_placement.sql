-- Out-of-home placement per registration cohort (SPEC 4, 5). placed_within_365d: a placement starts in
-- [registration_date, registration_date + 365]. The rate counts complete windows only (SPEC 5): a
-- dossier enters numerator and denominator only when registration_date + 365 <= as_of_date; dossiers
-- whose window still runs are counted in n_window_running and in no rate (with or without a placement
-- so far). A cohort without complete windows has a null rate.
-- placement_days: all spells of the cohort's dossiers, ongoing ones counted to as_of_date;
-- placement_moves: every spell after a dossier's first.
-- moves_per_1000_days = 1000 * placement_moves / placement_days, null when placement_days = 0.
-- Rows per registration_year x service x region plus every 'all' margin; registration_year is a string.
with cells as (
    select
        registration_year,
        service,
        region,
        count(*) as n_dossiers,
        sum(case when placement_window_complete then 1 else 0 end) as n_window_complete,
        sum(case when placement_window_complete and placed_within_365d then 1 else 0 end) as n_placed_365d,
        sum(placement_days) as placement_days,
        sum(placement_moves) as placement_moves
    from {{ ref('fct_dossier') }}
    group by registration_year, service, region
),

levels as (
    {{ year_service_region_levels() }}
),

expanded as (
    select
        {{ year_service_region_columns('registration_year') }},
        cells.n_dossiers,
        cells.n_window_complete,
        cells.n_placed_365d,
        cells.placement_days,
        cells.placement_moves
    from cells
    cross join levels
),

grouped as (
    select
        registration_year,
        service,
        region,
        cast(sum(n_dossiers) as {{ dbt.type_bigint() }}) as n_dossiers,
        cast(sum(n_window_complete) as {{ dbt.type_bigint() }}) as n_window_complete,
        cast(sum(n_placed_365d) as {{ dbt.type_bigint() }}) as n_placed_365d,
        cast(sum(placement_days) as {{ dbt.type_bigint() }}) as placement_days,
        cast(sum(placement_moves) as {{ dbt.type_bigint() }}) as placement_moves
    from expanded
    group by registration_year, service, region
)

select
    registration_year,
    service,
    region,
    n_window_complete as n_observable,
    n_placed_365d,
    {{ safe_ratio('n_placed_365d', 'n_window_complete') }} as placement_rate,
    placement_days,
    placement_moves,
    {{ safe_ratio('placement_moves', 'placement_days', 1000) }} as moves_per_1000_days,
    -- additions beyond the SPEC 4 list
    n_dossiers,
    n_window_complete,
    cast(n_dossiers - n_window_complete as {{ dbt.type_bigint() }}) as n_window_running,
    -- Wilson 95 % interval of placement_rate (SPEC 9.3; macros/statistics/wilson.sql); null when no window is complete
    {{ wilson_low('n_placed_365d', 'n_window_complete') }} as placement_rate_ci_low,
    {{ wilson_high('n_placed_365d', 'n_window_complete') }} as placement_rate_ci_high
from grouped
