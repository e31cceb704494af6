-- marts.outcome_km_curve: the Kaplan-Meier step function of time from registration to closure (SPEC 5, 9.3) per
-- registration_year x service x region (every 'all' margin too; registration_year a string), for plots.
-- Same estimate as marts.outcome_time_to_closure: closed dossiers are events at days_to_closure, open ones censored
-- at follow_up_days (marts.fct_dossier, the latest extract). One row per cell x distinct time (censoring times
-- too): days, n_at_risk, n_events, n_censored, survival S(t), greenwood = sum of d / (n (n - d)) over event times
-- <= t, and the log-log ("exponential Greenwood") 95 % band ci_low / ci_high as lifelines' KaplanMeierFitter
-- (macros/statistics/km.sql). Marts only: the curve shows exact counts per day.
with dossiers as (
    select
        registration_year,
        service,
        region,
        case when is_closed then days_to_closure else follow_up_days end as km_time,
        case when is_closed then 1 else 0 end as is_event
    from {{ ref('fct_dossier') }}
),

levels as (
    {{ year_service_region_levels() }}
),

km_input as (
    select
        {{ year_service_region_columns('registration_year') }},
        dossiers.km_time,
        dossiers.is_event as n_events,
        1 as n_leaving
    from dossiers
    cross join levels
),

{{ km_steps('km_input', ['registration_year', 'service', 'region'], 'km') }}

select
    registration_year,
    service,
    region,
    cast(km_time as {{ dbt.type_bigint() }}) as days,
    n_at_risk,
    n_events,
    n_censored,
    survival,
    greenwood,
    ci_low,
    ci_high
from km_curve
