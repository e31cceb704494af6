-- marts.unit_comparison_by_label: marts.unit_comparison with its team rows per published team label (SPEC 9.3), the
-- grain of reporting.unit_comparison. marts.unit_comparison has one team row per team_key: a renamed team that keeps
-- its label (data/teams.yaml maps both names to it) has two rows with the same label, and every unlisted team and the
-- dossiers without a team have team null. Here the team rows of a region are merged by label, team null as 'unknown'
-- (as in marts.practice_breadth and practice_depth), so indicator x region x team x period identifies a row:
--   n, observed, expected   summed over the merged rows (expected is a sum over dossiers, so it adds up)
--   the rest                computed again from the sums, as in marts.unit_comparison (macros/statistics/funnel.sql)
-- A label with one team_key keeps that row's values; region rows (team 'all') are as in marts.unit_comparison.
-- Every dossier has one team within one region and one period: team 'all' is the sum of the region's team rows and
-- period 'all' the sum of the years, for n, observed and expected.
{%- set dbl = type_double() %}
{%- set units = ['indicator', 'unit_level', 'region', 'team', 'period'] %}
with rows_by_label as (
    select
        indicator,
        unit_level,
        region,
        case when unit_level = 'team' then coalesce(team, 'unknown') else team end as team,
        period,
        n,
        observed,
        expected
    from {{ ref('unit_comparison') }}
),

measured as (
    select
        indicator,
        unit_level,
        region,
        team,
        period,
        cast(sum(n) as {{ dbt.type_bigint() }}) as n,
        cast(sum(observed) as {{ dbt.type_bigint() }}) as observed,
        cast(sum(expected) as {{ dbl }}) as expected
    from rows_by_label
    group by indicator, unit_level, region, team, period
),

{{ funnel_quantiles('measured', units) }}

select
    m.indicator,
    m.unit_level,
    m.region,
    m.team,
    m.period,
    m.n,
    m.observed,
    m.expected,
    {{ funnel_columns('m', 'q') }}
from measured as m
left join measured_quantiles as q
    on {{ funnel_join(units) }}
