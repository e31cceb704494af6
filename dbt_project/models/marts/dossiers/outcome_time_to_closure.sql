-- Time from registration to closure per registration cohort (SPEC 4, 5): Kaplan-Meier product-limit
-- estimate in SQL. Closed dossiers are events at days_to_closure; open dossiers are censored at
-- follow_up_days (as_of_date - registration_date). Rows per registration_year x service x region
-- plus every 'all' margin; registration_year is a string so that 'all' fits.
--
-- S(t) = prod over distinct event times t_i <= t of (1 - d_i / n_i), d_i = closures at t_i,
-- n_i = dossiers still at risk at t_i (time >= t_i: a dossier censored at t_i is at risk at t_i).
-- Computed as exp(sum(ln(1 - d/n))); once d = n the curve is 0 from there on (handled explicitly,
-- ln(0) is never taken). Quantile q: the smallest event time with S(t) <= 1 - q (+1e-9 so that an
-- exact fraction such as 99/132 = 0.75 is not lost to floating-point noise); null when never reached.
with dossiers as (
    select
        registration_year,
        service,
        region,
        is_closed,
        days_to_closure,
        case when is_closed then days_to_closure else follow_up_days end as km_time
    from {{ ref('fct_dossier') }}
),

levels as (
    {{ year_service_region_levels() }}
),

-- collapse to distinct times per cell first: at most a few thousand rows per cell
cell_times as (
    select
        registration_year,
        service,
        region,
        km_time,
        sum(case when is_closed then 1 else 0 end) as n_events,
        count(*) as n_leaving
    from dossiers
    group by registration_year, service, region, km_time
),

expanded as (
    select
        {{ year_service_region_columns('registration_year') }},
        cell_times.km_time,
        cell_times.n_events,
        cell_times.n_leaving
    from cell_times
    cross join levels
),

group_times as (
    select
        registration_year,
        service,
        region,
        km_time,
        cast(sum(n_events) as {{ dbt.type_bigint() }}) as n_events,
        cast(sum(n_leaving) as {{ dbt.type_bigint() }}) as n_leaving
    from expanded
    group by registration_year, service, region, km_time
),

at_risk as (
    select
        group_times.*,
        sum(n_leaving) over (
            partition by registration_year, service, region
            order by km_time desc
            rows between unbounded preceding and current row
        ) as n_at_risk
    from group_times
),

steps as (
    select
        at_risk.*,
        case
            when n_events > 0 and n_events < n_at_risk
                then {{ natural_log('1 - cast(n_events as ' ~ type_double() ~ ') / n_at_risk') }}
            else 0
        end as log_factor,
        case when n_events > 0 and n_events = n_at_risk then 1 else 0 end as reaches_zero
    from at_risk
),

curve as (
    select
        registration_year,
        service,
        region,
        km_time,
        n_events,
        case
            when max(reaches_zero) over (
                partition by registration_year, service, region
                order by km_time
                rows between unbounded preceding and current row
            ) = 1 then cast(0 as {{ type_double() }})
            else {{ exponential('sum(log_factor) over (partition by registration_year, service, region '
                                ~ 'order by km_time rows between unbounded preceding and current row)') }}
        end as survival
    from steps
),

km as (
    select
        registration_year,
        service,
        region,
        min(case when n_events > 0 and survival <= 0.75 + 1e-9 then km_time end) as km_p25_days,
        min(case when n_events > 0 and survival <= 0.50 + 1e-9 then km_time end) as km_median_days,
        min(case when n_events > 0 and survival <= 0.25 + 1e-9 then km_time end) as km_p75_days,
        min(case when km_time <= 365 then survival end) as survival_365_if_any,
        max(km_time) as max_km_time,
        min(survival) as min_survival
    from curve
    group by registration_year, service, region
),

counts as (
    select
        registration_year,
        service,
        region,
        cast(sum(n_leaving) as {{ dbt.type_bigint() }}) as n_dossiers,
        cast(sum(n_events) as {{ dbt.type_bigint() }}) as n_closed,
        cast(sum(n_leaving) - sum(n_events) as {{ dbt.type_bigint() }}) as n_censored,
        cast(sum(case when km_time <= 365 then n_events else 0 end) as {{ dbt.type_bigint() }}) as n_closed_within_365d,
        cast(sum(case when km_time < 365 then n_leaving - n_events else 0 end) as {{ dbt.type_bigint() }})
            as n_censored_before_365d
    from group_times
    group by registration_year, service, region
),

closed_expanded as (
    select
        {{ year_service_region_columns('registration_year') }},
        dossiers.days_to_closure
    from dossiers
    cross join levels
    where dossiers.is_closed
),

naive as (
    select
        registration_year,
        service,
        region,
        {{ median('days_to_closure') }} as naive_median_closed_days
    from closed_expanded
    group by registration_year, service, region
)

select
    c.registration_year,
    c.service,
    c.region,
    c.n_dossiers,
    c.n_closed,
    c.n_censored,
    k.km_median_days,
    k.km_p25_days,
    k.km_p75_days,
    -- 1 - S(365); null when S(365) is not estimable: nobody followed up 365 days and the curve not at 0
    case
        when k.max_km_time >= 365 or k.min_survival = 0
            then 1 - coalesce(k.survival_365_if_any, 1)
    end as km_closed_within_365d,
    cast(n.naive_median_closed_days as {{ type_double() }}) as naive_median_closed_days,
    -- additions beyond the SPEC 4 list
    k.max_km_time as max_follow_up_days,
    c.n_closed_within_365d,
    c.n_censored_before_365d
from counts as c
inner join km as k
    on k.registration_year = c.registration_year and k.service = c.service and k.region = c.region
left join naive as n
    on n.registration_year = c.registration_year and n.service = c.service and n.region = c.region
