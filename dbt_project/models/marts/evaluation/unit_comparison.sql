-- marts.unit_comparison: fair comparison of regions and teams by indirect standardisation (SPEC 9.3).
-- Indicators (complete 365-day windows only, SPEC 5; marts.fct_dossier, the latest extract):
--   placement_365d  registration cohort: denominator placement_window_complete, event placed_within_365d;
--                   period = registration_year
--   reopening_365d  closure cohort: denominator closed with reopening_window_complete, event reopened_within_365d;
--                   period = closure_year
-- Rows: indicator x unit (unit_level 'region': region, team 'all'; unit_level 'team': region, team label and
-- team_key) x period (a year, or 'all').
--   observed   events of the unit;  n  its denominator dossiers
--   expected   sum over the unit's dossiers of the reference rate of their stratum service x age band x
--              registration_year (over every unit; age band of registration year - birth_year: 0-5, 6-11, 12-17,
--              18+, unknown) = indirect standardisation
--   oe_ratio   observed / expected (null when expected = 0)
--   limit95_low / _high, limit998_low / _high   funnel-plot control limits of oe_ratio at 95 % and 99.8 %: exact
--              binomial quantiles of Binomial(n, expected / n), the smallest k with P(X <= k) >= alpha / 2 and
--              >= 1 - alpha / 2, divided by expected (no interpolation for discreteness)
--   flag       'above_99.8' / 'below_99.8' when observed lies beyond the 99.8 % limits, else 'above_95' /
--              'below_95' beyond the 95 % limits, else 'within' (null without expected events)
{%- set dbl = type_double() %}
with dossiers as (
    select
        region,
        team,
        team_key,
        service,
        registration_year,
        closure_year,
        case
            when birth_year is null then 'unknown'
            when registration_year - birth_year < 6 then '0-5'
            when registration_year - birth_year < 12 then '6-11'
            when registration_year - birth_year < 18 then '12-17'
            else '18+'
        end as age_band,
        placement_window_complete,
        placed_within_365d,
        is_closed,
        reopening_window_complete,
        reopened_within_365d
    from {{ ref('fct_dossier') }}
),

indicator_rows as (
    select
        'placement_365d' as indicator,
        region, team, team_key, service, age_band, registration_year,
        cast(registration_year as {{ dbt.type_string() }}) as period,
        case when placed_within_365d then 1 else 0 end as is_event
    from dossiers
    where placement_window_complete
    union all
    select
        'reopening_365d' as indicator,
        region, team, team_key, service, age_band, registration_year,
        cast(closure_year as {{ dbt.type_string() }}) as period,
        case when reopened_within_365d then 1 else 0 end as is_event
    from dossiers
    where is_closed and reopening_window_complete
),

reference as (
    select
        indicator, service, age_band, registration_year,
        cast(sum(is_event) as {{ dbl }}) / count(*) as reference_rate
    from indicator_rows
    group by indicator, service, age_band, registration_year
),

scored as (
    select i.*, r.reference_rate
    from indicator_rows as i
    inner join reference as r
        on r.indicator = i.indicator and r.service = i.service and r.age_band = i.age_band
        and r.registration_year = i.registration_year
),

periods as (
    select true as by_period union all select false as by_period
),

units as (
    select
        s.indicator,
        u.unit_level,
        s.region,
        case when u.unit_level = 'team' then s.team else 'all' end as team,
        case when u.unit_level = 'team' then s.team_key end as team_key,
        case when p.by_period then s.period else 'all' end as period,
        s.is_event,
        s.reference_rate
    from scored as s
    cross join (select 'region' as unit_level union all select 'team' as unit_level) as u
    cross join periods as p
),

measured as (
    select
        indicator,
        unit_level,
        region,
        max(team) as team,
        team_key,
        period,
        cast(count(*) as {{ dbt.type_bigint() }}) as n,
        cast(sum(is_event) as {{ dbt.type_bigint() }}) as observed,
        cast(sum(reference_rate) as {{ dbl }}) as expected
    from units
    group by indicator, unit_level, region, team_key, period
),

-- the funnel-plot quantiles of Binomial(n, expected / n) (macros/statistics/funnel.sql)
{{ funnel_quantiles('measured', ['indicator', 'unit_level', 'region', 'team_key', 'period']) }}

select
    m.indicator,
    m.unit_level,
    m.region,
    m.team,
    m.team_key,
    m.period,
    m.n,
    m.observed,
    m.expected,
    {{ funnel_columns('m', 'q') }}
from measured as m
left join measured_quantiles as q
    on {{ funnel_join(['indicator', 'unit_level', 'region', 'team_key', 'period'], nullable=['team_key']) }}
