-- marts.implementation_panel: region x service x quarter panel of the implementation (SPEC 9.3), from
-- marts.fct_dossier (the latest extract) and the placements of the latest extract.
--   registrations        dossiers registered in the quarter
--   closures             dossiers closed in the quarter
--   placements_started   placements starting in the quarter (dossiers of the region x service)
--   n_reopening_window_complete, n_reopened_365d, reopening_rate   dossiers closed in the quarter with a complete
--                        365-day window, of them reopened within 365 days (SPEC 5), and the rate
--   share_<step>         breadth: share of the quarter's registrations with the step recorded (mapping,
--                        safety_plan, network_meeting, three_houses, words_and_pictures; latest extract)
--   rollout_date         the region's roll-out date (data/implementation.yaml); event_time_quarters = quarter index
--                        minus the roll-out quarter's index (0 = the roll-out quarter); rollout_period 'pre' before
--                        the roll-out quarter, 'post' from it on (null without a roll-out date)
-- Every quarter from the first registration to the latest extract has a row per region x service seen.
-- Staff construct means per region and year: marts.implementation_panel_staff (join on region and year).
{%- set dbl = type_double() %}
{%- set steps = ['mapping', 'safety_plan', 'network_meeting', 'three_houses', 'words_and_pictures'] %}
with dossiers as (
    select
        d.*,
        cast(extract(year from registration_date) * 4 + floor((extract(month from registration_date) - 1) / 3)
            as {{ dbt.type_bigint() }}) as reg_q,
        cast(extract(year from closure_date) * 4 + floor((extract(month from closure_date) - 1) / 3) as {{ dbt.type_bigint() }}) as clo_q
    from {{ ref('fct_dossier') }} as d
),

placements as (
    select
        d.region,
        d.service,
        cast(extract(year from p.start_date) * 4 + floor((extract(month from p.start_date) - 1) / 3) as {{ dbt.type_bigint() }}) as q
    from {{ ref('int_placements_per_dossier_ordered') }} as p
    inner join dossiers as d
        on d.dossier_key = p.dossier_key
),

bounds as (
    select
        min(reg_q) as first_q,
        max(cast(extract(year from as_of_date) * 4 + floor((extract(month from as_of_date) - 1) / 3) as {{ dbt.type_bigint() }})) as last_q
    from dossiers
),

cells as (
    select distinct region, service from dossiers
),

grid as (
    select c.region, c.service, b.first_q + i.k as q
    from cells as c
    cross join bounds as b
    inner join ({{ stat_integers() }}) as i
        on i.k <= b.last_q - b.first_q
),

registered as (
    select
        region, service, reg_q as q,
        count(*) as registrations
        {%- for s in steps %},
        sum(case when has_{{ s }} then 1 else 0 end) as n_{{ s }}
        {%- endfor %}
    from dossiers
    group by region, service, reg_q
),

closed as (
    select
        region, service, clo_q as q,
        count(*) as closures,
        sum(case when reopening_window_complete then 1 else 0 end) as n_reopening_window_complete,
        sum(case when reopening_window_complete and reopened_within_365d then 1 else 0 end) as n_reopened_365d
    from dossiers
    where is_closed
    group by region, service, clo_q
),

started as (
    select region, service, q, count(*) as placements_started
    from placements
    group by region, service, q
),

rollout as (
    select
        region,
        rollout_date,
        cast(extract(year from rollout_date) * 4 + floor((extract(month from rollout_date) - 1) / 3)
            as {{ dbt.type_bigint() }}) as rollout_q
    from {{ ref('stg_evaluation__rollout') }}
)

select
    g.region,
    g.service,
    {{ dbt.concat(["cast(cast(floor(g.q / 4) as " ~ dbt.type_bigint() ~ ") as " ~ dbt.type_string() ~ ")", "'-Q'",
                   "cast(g.q - 4 * cast(floor(g.q / 4) as " ~ dbt.type_bigint() ~ ") + 1 as " ~ dbt.type_string() ~ ")"]) }} as quarter,
    cast(floor(g.q / 4) as {{ dbt.type_int() }}) as year,
    cast(g.q - 4 * cast(floor(g.q / 4) as {{ dbt.type_bigint() }}) + 1 as {{ dbt.type_int() }}) as quarter_of_year,
    cast(coalesce(r.registrations, 0) as {{ dbt.type_bigint() }}) as registrations,
    cast(coalesce(c.closures, 0) as {{ dbt.type_bigint() }}) as closures,
    cast(coalesce(s.placements_started, 0) as {{ dbt.type_bigint() }}) as placements_started,
    cast(coalesce(c.n_reopening_window_complete, 0) as {{ dbt.type_bigint() }}) as n_reopening_window_complete,
    cast(coalesce(c.n_reopened_365d, 0) as {{ dbt.type_bigint() }}) as n_reopened_365d,
    {{ safe_ratio('c.n_reopened_365d', 'c.n_reopening_window_complete') }} as reopening_rate
    {%- for st in steps %},
    {{ safe_ratio('r.n_' ~ st, 'r.registrations') }} as share_{{ st }}
    {%- endfor %},
    ro.rollout_date,
    cast(g.q - ro.rollout_q as {{ dbt.type_bigint() }}) as event_time_quarters,
    case when ro.rollout_q is null then null when g.q < ro.rollout_q then 'pre' else 'post' end as rollout_period
from grid as g
left join registered as r
    on r.region = g.region and r.service = g.service and r.q = g.q
left join closed as c
    on c.region = g.region and c.service = g.service and c.q = g.q
left join started as s
    on s.region = g.region and s.service = g.service and s.q = g.q
left join rollout as ro
    on ro.region = g.region
