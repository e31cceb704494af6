-- Reopened dossiers per closure cohort (SPEC 4, 5): closed dossiers whose child has another dossier
-- registered in (closure_date, closure_date + 365]. The rate counts complete windows only (SPEC 5): a
-- closed dossier enters numerator and denominator only when closure_date + 365 <= as_of_date; the others
-- are counted in n_window_running and in no rate, even when the reopening already happened. A cohort
-- without complete windows has a null rate.
-- Rows per closure_year x service x region plus every 'all' margin; closure_year is a string.
with cells as (
    select
        closure_year,
        service,
        region,
        count(*) as n_closed,
        sum(case when reopening_window_complete then 1 else 0 end) as n_window_complete,
        sum(case when reopening_window_complete and reopened_within_365d then 1 else 0 end) as n_reopened_365d
    from {{ ref('fct_dossier') }}
    where is_closed
    group by closure_year, service, region
),

levels as (
    {{ year_service_region_levels() }}
),

expanded as (
    select
        {{ year_service_region_columns('closure_year') }},
        cells.n_closed,
        cells.n_window_complete,
        cells.n_reopened_365d
    from cells
    cross join levels
),

grouped as (
    select
        closure_year,
        service,
        region,
        cast(sum(n_window_complete) as {{ dbt.type_bigint() }}) as n_window_complete,
        cast(sum(n_reopened_365d) as {{ dbt.type_bigint() }}) as n_reopened_365d,
        cast(sum(n_closed) as {{ dbt.type_bigint() }}) as n_closed
    from expanded
    group by closure_year, service, region
)

select
    closure_year,
    service,
    region,
    n_window_complete as n_observable,
    n_reopened_365d,
    {{ safe_ratio('n_reopened_365d', 'n_window_complete') }} as reopening_rate,
    -- additions beyond the SPEC 4 list
    n_closed,
    n_window_complete,
    cast(n_closed - n_window_complete as {{ dbt.type_bigint() }}) as n_window_running,
    -- Wilson 95 % interval of reopening_rate (SPEC 9.3; macros/statistics/wilson.sql); null when no window is complete
    {{ wilson_low('n_reopened_365d', 'n_window_complete') }} as reopening_rate_ci_low,
    {{ wilson_high('n_reopened_365d', 'n_window_complete') }} as reopening_rate_ci_high
from grouped
