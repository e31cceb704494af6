-- Client and child feedback responses linked to a study dossier within +-feedback_window_days of a follow-up
-- date (SPEC 9.1): one row per study x dossier x follow-up month x response, for points that are due (an
-- extract dated on or after the follow-up date is loaded). Complete responses only; the response date is
-- the submit date, or the wave's fieldwork_end when the submit date is unknown (anonymised surveys).
-- Survey responses are not versioned by extract: a wave loaded later that falls in the window adds to it.
{%- set s = dbt.type_string() %}
with points as (
    -- the dossier side may not be built yet in a warehouse that has only loaded surveys (ref_or_empty)
    select * from {{ ref_or_empty('int_study_follow_up_points', [
        ['study', s], ['dossier_key', s], ['child_key', s], ['registration_date', 'date'],
        ['follow_up_month', dbt.type_int()], ['follow_up_date', 'date'], ['feedback_window_days', dbt.type_int()],
        ['observed_extract_date', 'date']]) }} as p
    where observed_extract_date is not null
),

responses as (
    select
        response_key,
        instrument,
        population,
        dossier_key,
        coalesce(cast(submitted_at as date), fieldwork_end) as response_date
    from {{ ref_or_empty('fct_feedback', [
        ['response_key', s], ['instrument', s], ['population', s], ['dossier_key', s],
        ['is_complete', dbt.type_boolean()], ['submitted_at', dbt.type_timestamp()],
        ['fieldwork_end', 'date']]) }} as r
    where is_complete and dossier_key is not null
)

select
    p.study,
    p.dossier_key,
    p.follow_up_month,
    r.response_key,
    r.instrument,
    r.population,
    r.response_date,
    cast({{ dbt.datediff('p.follow_up_date', 'r.response_date', 'day') }} as {{ dbt.type_bigint() }}) as days_from_follow_up
from points as p
inner join responses as r
    on r.dossier_key = p.dossier_key
where {{ dbt.datediff('p.follow_up_date', 'r.response_date', 'day') }} between -p.feedback_window_days and p.feedback_window_days
