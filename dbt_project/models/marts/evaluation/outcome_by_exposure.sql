-- marts.outcome_by_exposure: landmark comparison of dossiers with and without a practice exposure (SPEC 9.2).
-- Rows: exposure x exposed x registration_year x service x region, with every 'all' margin of the three strata
-- (registration_year a string). Input: intermediate int_exposure_landmark (one row per exposure x landmark
-- dossier: open on day within_days after registration; exposure recorded by then; outcomes from the landmark on).
--   n_landmark           landmark dossiers; n_window_complete: of them with landmark + 365 <= as_of_date
--   n_placed_365d, placement_rate (+ Wilson 95 % ci_low / ci_high): a placement starting within 365 days
--                        after the landmark, over complete windows
--   n_reopened_365d, reopening_rate (+ Wilson 95 %): closed after the landmark and a new dossier of the child
--                        registered after that closure, within 365 days after the landmark, over complete windows
--   *_rate_std           directly standardised rate: the arm's rates per stratum registration_year x service x
--                        region, weighted by the stratum's complete-window landmark dossiers of both arms (the
--                        standard population of the exposure), over the strata of the row's cell in which the
--                        arm has complete windows (weights renormalised; std_weight_share = the share of the
--                        cell's standard population those strata hold). A detail row's standardised rate is its crude rate.
--   n_closed, km_median_days (+ km_median_ci_low / _high): Kaplan-Meier median of the days from landmark to closure
--                        (open dossiers censored at as_of_date); 95 % CI by Brookmeyer-Crowley on the log-log
--                        Greenwood bands (the first event time at which the lower / upper band is <= 0.5), as
--                        lifelines' median_survival_times(kmf.confidence_interval_); null when never reached
--   logrank_chi2, logrank_p  log-rank test of exposed against not exposed within the row's cell (time from landmark
--                        to closure), the same on both arms' rows; p from the 1-df chi-square (stat_erfc, fractional
--                        error < 1.2e-7); null when only one arm has dossiers or the variance is 0
--   caveat               'observational: differences can reflect case mix, not the practice'
{%- set dbl = type_double() %}
{%- set cell = ['exposure', 'exposed', 'registration_year', 'service', 'region'] %}
with base as (
    select * from {{ ref('int_exposure_landmark') }}
),

levels as (
    {{ year_service_region_levels() }}
),

expanded as (
    select
        base.exposure,
        base.exposed,
        {{ year_service_region_columns('registration_year') }},
        base.event_type,
        base.within_days,
        base.window_complete,
        base.placed_365d,
        base.reopened_365d,
        base.closed,
        base.km_time
    from base
    cross join levels
),

-- per exposure and cohort: open dossiers followed less than the landmark day; while there are none, the Kaplan-Meier
-- curve (reporting.outcome_km_curve, service 'all') gives a reader both arms together (SPEC 6)
early as (
    select
        x.exposure,
        f.registration_year,
        f.service,
        f.region,
        case when not f.is_closed and f.follow_up_days < x.within_days then 1 else 0 end as is_early
    from {{ ref('fct_dossier') }} as f
    cross join {{ ref('stg_evaluation__exposures') }} as x
),

early_counts as (
    select
        early.exposure,
        {{ year_service_region_columns('registration_year') }},
        early.is_early
    from early
    cross join levels
),

early_cells as (
    select exposure, registration_year, service, region, sum(is_early) as n_early
    from early_counts
    group by exposure, registration_year, service, region
),

counts as (
    select
        exposure,
        exposed,
        registration_year,
        service,
        region,
        min(event_type) as event_type,
        min(within_days) as within_days,
        cast(count(*) as {{ dbt.type_bigint() }}) as n_landmark,
        cast(sum(case when window_complete then 1 else 0 end) as {{ dbt.type_bigint() }}) as n_window_complete,
        cast(sum(case when window_complete and placed_365d then 1 else 0 end) as {{ dbt.type_bigint() }}) as n_placed_365d,
        cast(sum(case when window_complete and reopened_365d then 1 else 0 end) as {{ dbt.type_bigint() }}) as n_reopened_365d,
        cast(sum(case when closed then 1 else 0 end) as {{ dbt.type_bigint() }}) as n_closed
    from expanded
    group by exposure, exposed, registration_year, service, region
),

km_input as (
    select
        exposure,
        exposed,
        registration_year,
        service,
        region,
        km_time,
        case when closed then 1 else 0 end as n_events,
        1 as n_leaving
    from expanded
),

{{ km_steps('km_input', cell, 'km') }},

km as (
    select
        exposure,
        exposed,
        registration_year,
        service,
        region,
        min(case when n_events > 0 and survival <= 0.5 + 1e-9 then km_time end) as km_median_days,
        min(case when n_events > 0 and ci_low <= 0.5 + 1e-9 then km_time end) as km_median_ci_low,
        min(case when n_events > 0 and ci_high <= 0.5 + 1e-9 then km_time end) as km_median_ci_high
    from km_curve
    group by exposure, exposed, registration_year, service, region
),

lr_times as (
    select
        exposure,
        registration_year,
        service,
        region,
        km_time,
        sum(case when exposed and closed then 1 else 0 end) as d1,
        sum(case when closed then 1 else 0 end) as d,
        sum(case when exposed then 1 else 0 end) as l1,
        count(*) as l
    from expanded
    group by exposure, registration_year, service, region, km_time
),

lr_risk as (
    select
        t.*,
        sum(l1) over (partition by exposure, registration_year, service, region order by km_time desc
                      rows between unbounded preceding and current row) as n1,
        sum(l) over (partition by exposure, registration_year, service, region order by km_time desc
                     rows between unbounded preceding and current row) as n
    from lr_times as t
),

lr as (
    select
        exposure,
        registration_year,
        service,
        region,
        sum(case when d > 0 then d1 - d * cast(n1 as {{ dbl }}) / n else 0 end) as o_minus_e,
        sum(case when d > 0 and n > 1
                 then d * (cast(n1 as {{ dbl }}) / n) * (1 - cast(n1 as {{ dbl }}) / n) * (n - d) / (n - 1.0)
                 else 0 end) as v
    from lr_risk
    group by exposure, registration_year, service, region
),

lr_test as (
    select
        exposure,
        registration_year,
        service,
        region,
        case when v > 0 then o_minus_e * o_minus_e / v end as logrank_chi2
    from lr
),

strata as (
    select
        exposure,
        exposed,
        registration_year,
        service,
        region,
        sum(case when window_complete then 1 else 0 end) as n_c,
        sum(case when window_complete and placed_365d then 1 else 0 end) as n_p,
        sum(case when window_complete and reopened_365d then 1 else 0 end) as n_r
    from base
    group by exposure, exposed, registration_year, service, region
),

standard as (
    select exposure, registration_year, service, region, sum(n_c) as w
    from strata
    group by exposure, registration_year, service, region
),

std_expanded as (
    select
        s.exposure,
        s.exposed,
        case when levels.by_year then cast(s.registration_year as {{ dbt.type_string() }}) else 'all' end as registration_year,
        case when levels.by_service then s.service else 'all' end as service,
        case when levels.by_region then s.region else 'all' end as region,
        st.w,
        s.n_c,
        s.n_p,
        s.n_r
    from strata as s
    inner join standard as st
        on st.exposure = s.exposure and st.registration_year = s.registration_year
        and st.service = s.service and st.region = s.region
    cross join levels
),

standard_expanded as (
    select
        st.exposure,
        case when levels.by_year then cast(st.registration_year as {{ dbt.type_string() }}) else 'all' end as registration_year,
        case when levels.by_service then st.service else 'all' end as service,
        case when levels.by_region then st.region else 'all' end as region,
        st.w
    from standard as st
    cross join levels
),

standard_total as (
    select exposure, registration_year, service, region, sum(w) as w_total
    from standard_expanded
    group by exposure, registration_year, service, region
),

dsr as (
    select
        exposure,
        exposed,
        registration_year,
        service,
        region,
        sum(case when n_c > 0 then w * cast(n_p as {{ dbl }}) / n_c end)
            / sum(case when n_c > 0 then w end) as placement_rate_std,
        sum(case when n_c > 0 then w * cast(n_r as {{ dbl }}) / n_c end)
            / sum(case when n_c > 0 then w end) as reopening_rate_std,
        sum(case when n_c > 0 then w else 0 end) as w_covered
    from std_expanded
    group by exposure, exposed, registration_year, service, region
)

select
    c.exposure,
    c.exposed,
    c.registration_year,
    c.service,
    c.region,
    c.event_type,
    cast(c.within_days as {{ dbt.type_int() }}) as within_days,
    c.n_landmark,
    c.n_window_complete,
    c.n_placed_365d,
    {{ safe_ratio('c.n_placed_365d', 'c.n_window_complete') }} as placement_rate,
    {{ wilson_low('c.n_placed_365d', 'c.n_window_complete') }} as placement_rate_ci_low,
    {{ wilson_high('c.n_placed_365d', 'c.n_window_complete') }} as placement_rate_ci_high,
    cast(d.placement_rate_std as {{ dbl }}) as placement_rate_std,
    c.n_reopened_365d,
    {{ safe_ratio('c.n_reopened_365d', 'c.n_window_complete') }} as reopening_rate,
    {{ wilson_low('c.n_reopened_365d', 'c.n_window_complete') }} as reopening_rate_ci_low,
    {{ wilson_high('c.n_reopened_365d', 'c.n_window_complete') }} as reopening_rate_ci_high,
    cast(d.reopening_rate_std as {{ dbl }}) as reopening_rate_std,
    case when t.w_total > 0 then cast(d.w_covered as {{ dbl }}) / t.w_total end as std_weight_share,
    c.n_closed,
    cast(k.km_median_days as {{ dbt.type_bigint() }}) as km_median_days,
    cast(k.km_median_ci_low as {{ dbt.type_bigint() }}) as km_median_ci_low,
    cast(k.km_median_ci_high as {{ dbt.type_bigint() }}) as km_median_ci_high,
    cast(l.logrank_chi2 as {{ dbl }}) as logrank_chi2,
    cast({{ chi2_1df_p('l.logrank_chi2') }} as {{ dbl }}) as logrank_p,
    'observational: differences can reflect case mix, not the practice' as caveat,
    -- both arms together (SPEC 6): the cohort's dossiers still open and followed on the landmark day, which the
    -- Kaplan-Meier curve gives a reader (dossiers - closed by the day)
    -- (null where no reader knows it: other services than 'all', or open dossiers followed less than the landmark)
    case when c.service = 'all' and coalesce(e.n_early, 0) = 0 then
        cast(sum(c.n_landmark) over (partition by c.exposure, c.registration_year, c.service, c.region)
            as {{ dbt.type_bigint() }}) end as n_landmark_both_arms
from counts as c
left join early_cells as e
    on e.exposure = c.exposure and e.registration_year = c.registration_year
    and e.service = c.service and e.region = c.region
left join km as k
    on k.exposure = c.exposure and k.exposed = c.exposed and k.registration_year = c.registration_year
    and k.service = c.service and k.region = c.region
left join lr_test as l
    on l.exposure = c.exposure and l.registration_year = c.registration_year
    and l.service = c.service and l.region = c.region
left join dsr as d
    on d.exposure = c.exposure and d.exposed = c.exposed and d.registration_year = c.registration_year
    and d.service = c.service and d.region = c.region
left join standard_total as t
    on t.exposure = c.exposure and t.registration_year = c.registration_year
    and t.service = c.service and t.region = c.region
