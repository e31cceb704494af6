-- SofS practice breadth per dossier of the latest extract (SPEC 3.4, 4): which steps were recorded,
-- and the first and last scaling score rated by the worker. One row per dossier with any event.
-- Scaling scores: worker ratings only, so that first and last compare the same rater's judgement
-- (0 = certain harm, 10 = enough safety to close); ties on a date are broken by file order: the extract
-- that first recorded the event (valid_from), then its line there, then event_key.
-- Per rater (the rated_by codes of SPEC 3.4: worker, parent, child, network) the same rule gives
-- first_scaling_score_<rater>, last_scaling_score_<rater> and n_scaling_scores_<rater>; a scaling
-- question without rated_by or without a value counts for no rater.
{%- set raters = ['worker', 'parent', 'child', 'network'] %}

with events as (
    select e.*
    from {{ in_latest_extract(ref('stg_dossiers__practice_events'), 'e') }}
),

breadth as (
    select
        dossier_key,
        cast(count(*) as {{ dbt.type_bigint() }}) as n_practice_events,
        min(event_date) as first_event_date,
        {{ dbt.bool_or("event_type = 'mapping'") }} as has_mapping,
        {{ dbt.bool_or("event_type = 'safety_plan'") }} as has_safety_plan,
        {{ dbt.bool_or("event_type = 'network_meeting'") }} as has_network_meeting,
        {{ dbt.bool_or("event_type = 'three_houses'") }} as has_three_houses,
        {{ dbt.bool_or("event_type = 'words_and_pictures'") }} as has_words_and_pictures,
        sum(case when event_type = 'scaling_question' and rated_by = 'worker' and scaling_value is not null
                 then 1 else 0 end) as n_worker_scaling_scores_sum
    from events
    group by dossier_key
),

worker_scaling as (
    select
        dossier_key,
        scaling_value,
        row_number() over (
            partition by dossier_key order by event_date, valid_from, source_line, event_key
        ) as seq_first,
        row_number() over (
            partition by dossier_key order by event_date desc, valid_from desc, source_line desc, event_key desc
        ) as seq_last
    from events
    where event_type = 'scaling_question'
        and rated_by = 'worker'
        and scaling_value is not null
),

rater_scaling as (
    select
        dossier_key,
        rated_by,
        scaling_value,
        row_number() over (
            partition by dossier_key, rated_by order by event_date, valid_from, source_line, event_key
        ) as seq_first,
        row_number() over (
            partition by dossier_key, rated_by order by event_date desc, valid_from desc, source_line desc, event_key desc
        ) as seq_last
    from events
    where event_type = 'scaling_question'
        and rated_by in ('{{ raters | join("', '") }}')
        and scaling_value is not null
),

per_rater as (
    select
        dossier_key,
{%- for r in raters %}
        cast(sum(case when rated_by = '{{ r }}' then 1 else 0 end) as {{ dbt.type_bigint() }}) as n_scaling_scores_{{ r }},
        max(case when rated_by = '{{ r }}' and seq_first = 1 then scaling_value end) as first_scaling_score_{{ r }},
        max(case when rated_by = '{{ r }}' and seq_last = 1 then scaling_value end)
            as last_scaling_score_{{ r }}{% if not loop.last %},{% endif %}
{%- endfor %}
    from rater_scaling
    group by dossier_key
)

select
    b.dossier_key,
    b.n_practice_events,
    b.first_event_date,
    b.has_mapping,
    b.has_safety_plan,
    b.has_network_meeting,
    b.has_three_houses,
    b.has_words_and_pictures,
    cast(b.n_worker_scaling_scores_sum as {{ dbt.type_bigint() }}) as n_worker_scaling_scores,
    f.scaling_value as first_scaling_score,
    l.scaling_value as last_scaling_score,
{%- for r in raters %}
    coalesce(pr.n_scaling_scores_{{ r }}, 0) as n_scaling_scores_{{ r }},
    pr.first_scaling_score_{{ r }},
    pr.last_scaling_score_{{ r }}{% if not loop.last %},{% endif %}
{%- endfor %}
from breadth as b
left join worker_scaling as f
    on f.dossier_key = b.dossier_key and f.seq_first = 1
left join worker_scaling as l
    on l.dossier_key = b.dossier_key and l.seq_last = 1
left join per_rater as pr
    on pr.dossier_key = b.dossier_key
