-- The region = 'all' row of a year holds every region's dossiers and survey responses: its counts are
-- at least the sum of the region rows (equal for dossiers, which always have a region). Fails per year
-- where that does not hold. The survey counts are <population>_n_responses of every loaded population
-- (macros/surveys/measures.sql).
{%- set populations = survey_populations() %}
with regions as (
    select
        year,
        sum(n_dossiers) as n_dossiers
        {%- for p in populations %},
        sum({{ adapter.quote(p ~ '_n_responses') }}) as {{ adapter.quote(p ~ '_n_responses') }}
        {%- endfor %}
    from {{ ref('region_period_outcomes') }}
    where region <> 'all'
    group by year
)

select r.year
from regions as r
left join {{ ref('region_period_outcomes') }} as a
    on a.year = r.year and a.region = 'all'
where a.year is null
    or a.n_dossiers <> r.n_dossiers
    {%- for p in populations %}
    or a.{{ adapter.quote(p ~ '_n_responses') }} < r.{{ adapter.quote(p ~ '_n_responses') }}
    {%- endfor %}
