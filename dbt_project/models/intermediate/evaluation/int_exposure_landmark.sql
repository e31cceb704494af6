-- One row per practice exposure x landmark dossier (SPEC 9.2), from the latest extract (marts.fct_dossier).
-- Landmark L = within_days of the exposure: landmark_date = registration_date + L days. A dossier enters when
--   * the landmark lies on or before as_of_date (registration_date + L <= as_of_date), and
--   * it is still open on the landmark day: not closed, or closed after it (days_to_closure > L);
--     a dossier closed on or before day L is excluded.
-- exposed: the latest extract records an event of the exposure's event_type dated on or before landmark_date.
-- Outcomes from the landmark on (days after landmark_date):
--   window_complete   landmark_date + 365 <= as_of_date (a complete 365-day outcome window, SPEC 5);
--   placed_365d       a placement of the dossier starts in (landmark_date, landmark_date + 365];
--   reopened_365d     closed after the landmark and the same child has another dossier registered after that
--                     closure and on or before landmark_date + 365;
--   km_time / closed  days from the landmark to closure (closed) or to as_of_date (open: censored).
-- The outcome flags are given for every dossier; rates count complete windows only.
with exposures as (
    select * from {{ ref('stg_evaluation__exposures') }}
),

dossiers as (
    select
        dossier_key,
        child_key,
        service,
        region,
        team,
        team_key,
        registration_date,
        registration_year,
        closure_date,
        as_of_date,
        birth_year,
        days_to_closure,
        follow_up_days
    from {{ ref('fct_dossier') }}
),

events as (
    select e.dossier_key, e.event_type, e.event_date
    from {{ in_latest_extract(ref('stg_dossiers__practice_events'), 'e') }}
),

landmark as (
    select
        x.exposure,
        x.event_type,
        x.within_days,
        d.*,
        cast({{ dbt.dateadd('day', 'x.within_days', 'd.registration_date') }} as date) as landmark_date
    from exposures as x
    cross join dossiers as d
    where d.follow_up_days >= x.within_days
        and (d.days_to_closure is null or d.days_to_closure > x.within_days)
),

exposed as (
    select l.exposure, l.dossier_key, count(*) as n_exposure_events
    from landmark as l
    inner join events as e
        on e.dossier_key = l.dossier_key
        and e.event_type = l.event_type
        and e.event_date <= l.landmark_date
    group by l.exposure, l.dossier_key
),

placed as (
    select l.exposure, l.dossier_key, count(*) as n_placements
    from landmark as l
    inner join {{ ref('int_placements_per_dossier_ordered') }} as p
        on p.dossier_key = l.dossier_key
        and p.start_date > l.landmark_date
        and {{ dbt.datediff('l.landmark_date', 'p.start_date', 'day') }} <= 365
    group by l.exposure, l.dossier_key
),

reopened as (
    select l.exposure, l.dossier_key, count(*) as n_later_dossiers
    from landmark as l
    inner join dossiers as o
        on o.child_key = l.child_key
        and o.dossier_key <> l.dossier_key
        and o.registration_date > l.closure_date
        and {{ dbt.datediff('l.landmark_date', 'o.registration_date', 'day') }} <= 365
    where l.closure_date is not null
    group by l.exposure, l.dossier_key
)

select
    l.exposure,
    l.event_type,
    l.within_days,
    l.dossier_key,
    l.child_key,
    l.service,
    l.region,
    l.team,
    l.team_key,
    l.registration_year,
    l.registration_date,
    l.birth_year,
    l.landmark_date,
    l.as_of_date,
    coalesce(e.n_exposure_events, 0) > 0 as exposed,
    {{ dbt.datediff('l.landmark_date', 'l.as_of_date', 'day') }} >= 365 as window_complete,
    coalesce(p.n_placements, 0) > 0 as placed_365d,
    coalesce(r.n_later_dossiers, 0) > 0 as reopened_365d,
    l.closure_date is not null as closed,
    cast({{ dbt.datediff('l.landmark_date', 'coalesce(l.closure_date, l.as_of_date)', 'day') }} as {{ dbt.type_bigint() }}) as km_time
from landmark as l
left join exposed as e
    on e.exposure = l.exposure and e.dossier_key = l.dossier_key
left join placed as p
    on p.exposure = l.exposure and p.dossier_key = l.dossier_key
left join reopened as r
    on r.exposure = l.exposure and r.dossier_key = l.dossier_key
