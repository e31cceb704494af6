-- marts.outcome_km_grid: the Kaplan-Meier curve of marts.outcome_km_curve read at fixed days since registration
-- (SPEC 5, 9.3), the source of reporting.outcome_km_curve. Grid: 0, step, 2 x step, ... up to max days, plus 365
-- (dbt vars km_grid_step_days, default 30, and km_grid_max_days, default 720). Every cohort (registration_year x
-- service x region, 'all' margins too) has every grid day, so counts add up along every margin.
--   survival, ci_low, ci_high  S(t) and its log-log 95 % band at the last time <= t of the cohort's curve (1 before
--                              the first time); null once t is past the cohort's longest follow-up (not estimable)
--   n_dossiers                 dossiers of the cohort
--   n_closed_by_day            closed with days_to_closure <= t
--   n_censored_before_day      open dossiers censored before t (follow_up_days < t): when 0, S(t) =
--                              1 - n_closed_by_day / n_dossiers, so the curve gives that count away (SPEC 6)
--   n_at_risk                  dossiers still followed at t (time >= t)
{%- set step = var('km_grid_step_days', 30) | int %}
{%- set last = var('km_grid_max_days', 720) | int %}
{%- set grid = range(0, last + 1, step) | list %}
{%- if 365 <= last and 365 not in grid %}{% do grid.append(365) %}{% endif %}
with grid as (
    {%- for d in grid | sort %}
    select cast({{ d }} as {{ dbt.type_bigint() }}) as days{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

curve as (
    select * from {{ ref('outcome_km_curve') }}
),

cohorts as (
    select
        registration_year,
        service,
        region,
        max(n_at_risk) as n_dossiers,
        max(days) as last_days
    from curve
    group by registration_year, service, region
),

cohort_days as (
    select c.registration_year, c.service, c.region, c.n_dossiers, c.last_days, g.days
    from cohorts as c
    cross join grid as g
),

up_to as (
    select
        cd.registration_year,
        cd.service,
        cd.region,
        cd.days,
        cd.n_dossiers,
        cd.last_days,
        coalesce(sum(cv.n_events), 0) as n_closed_by_day,
        coalesce(sum(case when cv.days < cd.days then cv.n_censored else 0 end), 0) as n_censored_before_day,
        coalesce(sum(case when cv.days < cd.days then cv.n_events + cv.n_censored else 0 end), 0) as n_left_before_day,
        max(cv.days) as curve_days
    from cohort_days as cd
    left join curve as cv
        on cv.registration_year = cd.registration_year
        and cv.service = cd.service
        and cv.region = cd.region
        and cv.days <= cd.days
    group by cd.registration_year, cd.service, cd.region, cd.days, cd.n_dossiers, cd.last_days
)

select
    u.registration_year,
    u.service,
    u.region,
    u.days,
    cast(u.n_dossiers as {{ dbt.type_bigint() }}) as n_dossiers,
    cast(u.n_closed_by_day as {{ dbt.type_bigint() }}) as n_closed_by_day,
    cast(u.n_censored_before_day as {{ dbt.type_bigint() }}) as n_censored_before_day,
    cast(u.n_dossiers - u.n_left_before_day as {{ dbt.type_bigint() }}) as n_at_risk,
    case when u.days <= u.last_days then coalesce(cv.survival, 1) end as survival,
    case when u.days <= u.last_days then coalesce(cv.ci_low, 1) end as ci_low,
    case when u.days <= u.last_days then coalesce(cv.ci_high, 1) end as ci_high
from up_to as u
left join curve as cv
    on cv.registration_year = u.registration_year
    and cv.service = u.service
    and cv.region = u.region
    and cv.days = u.curve_days
