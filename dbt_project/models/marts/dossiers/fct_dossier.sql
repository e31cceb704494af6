-- One row per dossier of the latest extract (SPEC 4, marts.fct_dossier), with the per-dossier
-- definitions of SPEC 5. All durations are calendar days (dbt.datediff: later date minus earlier).
-- A 365-day outcome flag is true once the event happened, false when the whole window lies on or before
-- as_of_date without it, and null while the window runs without the event. The *_window_complete
-- columns say whether the dossier counts in the 365-day rates (SPEC 5: complete windows only).
-- Day counts and sequence numbers are cast to bigint: datediff and row_number() give an int on Spark and a
-- bigint on DuckDB (SPEC 7).
with dossiers as (
    select * from {{ ref('int_dossiers_per_child_ordered') }}
),

placements as (
    select
        p.dossier_key,
        cast(count(*) as {{ dbt.type_bigint() }}) as n_placements,
        min(p.start_date) as first_placement_start,
        cast(sum(case when p.placement_seq > 1 then 1 else 0 end) as {{ dbt.type_bigint() }}) as placement_moves,
        cast(sum(p.placement_days) as {{ dbt.type_bigint() }}) as placement_days,
        sum(case when {{ dbt.datediff('d.registration_date', 'p.start_date', 'day') }} between 0 and 365
                 then 1 else 0 end) as n_started_within_365d
    from {{ ref('int_placements_per_dossier_ordered') }} as p
    inner join dossiers as d
        on d.dossier_key = p.dossier_key
    group by p.dossier_key
),

practice as (
    select * from {{ ref('int_practice_events_per_dossier') }}
),

measured as (
    select
        d.*,
        {{ dbt.datediff('d.registration_date', 'd.closure_date', 'day') }} as days_to_closure_raw,
        {{ dbt.datediff('d.registration_date', 'coalesce(d.closure_date, d.as_of_date)', 'day') }} as follow_up_days,
        {{ dbt.datediff('d.registration_date', 'd.as_of_date', 'day') }} as days_registration_to_as_of,
        {{ dbt.datediff('d.closure_date', 'd.as_of_date', 'day') }} as days_closure_to_as_of
    from dossiers as d
)

select
    m.dossier_key,
    m.child_key,
    m.service,
    m.region,
    m.team,
    m.registration_date,
    m.closure_date,
    m.as_of_date,
    m.closure_date is not null as is_closed,
    cast(m.days_to_closure_raw as {{ dbt.type_bigint() }}) as days_to_closure,
    cast(m.follow_up_days as {{ dbt.type_bigint() }}) as follow_up_days,
    cast(extract(year from m.registration_date) as {{ dbt.type_int() }}) as registration_year,
    coalesce(m.days_since_previous_closure <= 365, false) as is_reentry,
    coalesce(p.n_placements, 0) as n_placements,
    case
        when p.n_started_within_365d > 0 then true
        when m.days_registration_to_as_of >= 365 then false
    end as placed_within_365d,
    cast({{ dbt.datediff('m.registration_date', 'p.first_placement_start', 'day') }} as {{ dbt.type_bigint() }}) as days_to_first_placement,
    case
        when m.closure_date is null then null
        when m.days_closure_to_next_registration <= 365 then true
        when m.days_closure_to_as_of >= 365 then false
    end as reopened_within_365d,
    coalesce(e.has_mapping, false) as has_mapping,
    coalesce(e.has_safety_plan, false) as has_safety_plan,
    coalesce(e.has_network_meeting, false) as has_network_meeting,
    coalesce(e.has_three_houses, false) as has_three_houses,
    coalesce(e.has_words_and_pictures, false) as has_words_and_pictures,
    e.first_scaling_score,
    e.last_scaling_score,
    -- additions (SPEC 5): per rater, the same first/last rule for each rated_by code of SPEC 3.4
    e.first_scaling_score_worker,
    e.last_scaling_score_worker,
    coalesce(e.n_scaling_scores_worker, 0) as n_scaling_scores_worker,
    e.first_scaling_score_parent,
    e.last_scaling_score_parent,
    coalesce(e.n_scaling_scores_parent, 0) as n_scaling_scores_parent,
    e.first_scaling_score_child,
    e.last_scaling_score_child,
    coalesce(e.n_scaling_scores_child, 0) as n_scaling_scores_child,
    e.first_scaling_score_network,
    e.last_scaling_score_network,
    coalesce(e.n_scaling_scores_network, 0) as n_scaling_scores_network,
    -- additions beyond the SPEC 4 list (columns may be added, never renamed)
    m.team_key,
    m.days_registration_to_as_of >= 365 as placement_window_complete,
    coalesce(m.days_closure_to_as_of >= 365, false) as reopening_window_complete,
    cast(extract(year from m.closure_date) as {{ dbt.type_int() }}) as closure_year,
    m.closure_reason,
    m.birth_year,
    m.sex,
    cast(m.child_dossier_seq as {{ dbt.type_bigint() }}) as child_dossier_seq,
    m.child_n_dossiers,
    cast(m.days_since_previous_closure as {{ dbt.type_bigint() }}) as days_since_previous_closure,
    cast(m.days_closure_to_next_registration as {{ dbt.type_bigint() }}) as days_closure_to_next_registration,
    coalesce(p.placement_moves, 0) as placement_moves,
    coalesce(p.placement_days, 0) as placement_days,
    coalesce(e.n_practice_events, 0) as n_practice_events,
    coalesce(e.n_worker_scaling_scores, 0) as n_worker_scaling_scores
from measured as m
left join placements as p
    on p.dossier_key = m.dossier_key
left join practice as e
    on e.dossier_key = m.dossier_key
