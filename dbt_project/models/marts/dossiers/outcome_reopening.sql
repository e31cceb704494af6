-- Reopened dossiers per closure cohort (SPEC 4, 5): closed dossiers whose child has another dossier
-- registered in (closure_date, closure_date + 365]. A dossier is observable when its whole window lies
-- on or before as_of_date or the reopening happened; the others are left out of the denominator.
-- Rows per closure_year x service x region plus every 'all' margin; closure_year is a string.
with cells as (
    select
        closure_year,
        service,
        region,
        count(*) as n_closed,
        count(reopened_within_365d) as n_observable,
        sum(case when reopened_within_365d then 1 else 0 end) as n_reopened_365d
    from {{ ref('fct_dossier') }}
    where is_closed
    group by closure_year, service, region
),

levels as (
    {{ outcome_grouping_levels() }}
),

expanded as (
    select
        {{ outcome_group_columns('closure_year') }},
        cells.n_closed,
        cells.n_observable,
        cells.n_reopened_365d
    from cells
    cross join levels
),

grouped as (
    select
        closure_year,
        service,
        region,
        cast(sum(n_observable) as {{ dbt.type_bigint() }}) as n_observable,
        cast(sum(n_reopened_365d) as {{ dbt.type_bigint() }}) as n_reopened_365d,
        cast(sum(n_closed) as {{ dbt.type_bigint() }}) as n_closed
    from expanded
    group by closure_year, service, region
)

select
    closure_year,
    service,
    region,
    n_observable,
    n_reopened_365d,
    {{ outcome_ratio('n_reopened_365d', 'n_observable') }} as reopening_rate,
    -- additions beyond the SPEC 4 list
    n_closed
from grouped
