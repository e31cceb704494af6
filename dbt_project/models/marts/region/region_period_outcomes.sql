-- marts.region_period_outcomes: year x region (SPEC 4). Hard outcomes, practice
-- breadth, staff construct means and client / child feedback means side by side, one row per year
-- and region that has any of them, plus a region = 'all' row per year (over every region, including
-- staff respondents without a region and feedback on a dossier not in the latest extract).
--
-- What "year" means per block:
--   hard outcomes and practice breadth: the registration year of the dossiers (the registration cohort,
--     as in marts.outcome_time_to_closure / outcome_placement with service = 'all'), except
--     reopening_rate: the closure year (marts.outcome_reopening, service = 'all');
--   staff means: the fieldwork year of the staff_survey wave; the region is the respondent's region
--     attribute (item `region`, its value label = the dossier region names);
--   client / child means: the fieldwork year of the feedback wave; the region is the dossier's.
-- Means are over current responses with a value (null scores and missing reasons left out); unrounded.
{%- set staff_constructs = ['leadership', 'learning_organisation', 'organisational_alignment',
                            'measurement_monitoring', 'team_safety', 'wellbeing'] -%}
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = outcome_type_double() %}

with levels as (
    {{ feedback_region_levels() }}
),

-- hard outcomes: the outcome marts' service = 'all' rows (they already carry region = 'all' margins)
closure as (
    select registration_year as year_text, region, n_dossiers, km_median_days, km_closed_within_365d
    from {{ feedback_ref_or_empty('outcome_time_to_closure', [
        ['registration_year', s], ['service', s], ['region', s], ['n_dossiers', b],
        ['km_median_days', b], ['km_closed_within_365d', f]]) }} as t
    where service = 'all' and registration_year <> 'all'
),

placement as (
    select registration_year as year_text, region, n_observable, placement_rate, moves_per_1000_days
    from {{ feedback_ref_or_empty('outcome_placement', [
        ['registration_year', s], ['service', s], ['region', s], ['n_observable', b],
        ['placement_rate', f], ['moves_per_1000_days', f]]) }} as p
    where service = 'all' and registration_year <> 'all'
),

reopening as (
    select closure_year as year_text, region, n_observable, reopening_rate
    from {{ feedback_ref_or_empty('outcome_reopening', [
        ['closure_year', s], ['service', s], ['region', s], ['n_observable', b],
        ['reopening_rate', f]]) }} as o
    where service = 'all' and closure_year <> 'all'
),

-- practice breadth: dossiers of the registration cohort with each SofS step recorded (by as_of_date)
practice as (
    select
        d.registration_year as year,
        {{ feedback_region_column('d.region') }} as region,
        count(*) as n_dossiers,
        sum(case when d.has_mapping then 1 else 0 end) as n_with_mapping,
        sum(case when d.has_safety_plan then 1 else 0 end) as n_with_safety_plan,
        sum(case when d.has_network_meeting then 1 else 0 end) as n_with_network_meeting
    from {{ feedback_ref_or_empty('fct_dossier', [
        ['registration_year', dbt.type_int()], ['region', s], ['has_mapping', dbt.type_boolean()],
        ['has_safety_plan', dbt.type_boolean()], ['has_network_meeting', dbt.type_boolean()]]) }} as d
    cross join levels
    group by d.registration_year, {{ feedback_region_column('d.region') }}
),

-- staff construct means by the respondent's region attribute
staff_waves as (
    select instrument, wave, wave_year
    from {{ feedback_ref_or_empty('int_survey_wave_years', [
        ['instrument', s], ['wave', s], ['wave_year', dbt.type_int()]]) }} as w
    where instrument = 'staff_survey' and wave_year is not null
),

staff_region as (
    select response_key, max(value_label) as region
    from {{ feedback_ref_or_empty('fct_item_response', [
        ['instrument', s], ['response_key', s], ['item', s], ['role', s], ['value_label', s]]) }} as i
    where instrument = 'staff_survey' and item = 'region' and role = 'attribute'
    group by response_key
),

staff_scores as (
    select
        w.wave_year as year,
        sr.region,
        sc.response_key,
        sc.construct,
        sc.score
    from {{ feedback_ref_or_empty('fct_scale_score', [
        ['instrument', s], ['wave', s], ['response_key', s], ['construct', s], ['score', f]]) }} as sc
    inner join staff_waves as w
        on w.instrument = sc.instrument and w.wave = sc.wave
    left join staff_region as sr
        on sr.response_key = sc.response_key
),

staff as (
    select
        st.year,
        {{ feedback_region_column('st.region') }} as region,
        count(distinct st.response_key) as staff_n_responses
        {%- for c in staff_constructs %},
        avg(case when st.construct = '{{ c }}' then st.score end) as staff_{{ c }}_mean
        {%- endfor %}
    from staff_scores as st
    cross join levels
    where levels.by_region = false or st.region is not null
    group by st.year, {{ feedback_region_column('st.region') }}
),

-- client and child feedback means by the dossier's region
feedback as (
    select
        fb.fieldwork_year as year,
        {{ feedback_region_column('fb.region') }} as region,
        sum(case when fb.population = 'client' then 1 else 0 end) as client_n_responses,
        avg(case when fb.population = 'client' then fb.partnership_score end) as client_partnership_mean,
        avg(case when fb.population = 'client' then fb.scaling_safety end) as client_scaling_safety_mean,
        avg(case when fb.population = 'client' then fb.scaling_progress end) as client_scaling_progress_mean,
        sum(case when fb.population = 'child' then 1 else 0 end) as child_n_responses,
        avg(case when fb.population = 'child' then fb.child_participation_score end) as child_participation_mean,
        avg(case when fb.population = 'child' then fb.scaling_safety end) as child_scaling_safety_mean
    from {{ ref('fct_feedback') }} as fb
    cross join levels
    where fb.fieldwork_year is not null and (levels.by_region = false or fb.region is not null)
    group by fb.fieldwork_year, {{ feedback_region_column('fb.region') }}
),

cells as (
    select year, region from practice
    union
    select year, region from staff
    union
    select year, region from feedback
)

select
    k.year,
    k.region,
    -- hard outcomes
    cast(coalesce(pr.n_dossiers, 0) as {{ b }}) as n_dossiers,
    t.km_median_days,
    t.km_closed_within_365d,
    pl.n_observable as placement_n_observable,
    pl.placement_rate,
    pl.moves_per_1000_days,
    ro.n_observable as reopening_n_observable,
    ro.reopening_rate,
    -- practice breadth
    {{ outcome_ratio('pr.n_with_mapping', 'pr.n_dossiers') }} as share_with_mapping,
    {{ outcome_ratio('pr.n_with_safety_plan', 'pr.n_dossiers') }} as share_with_safety_plan,
    {{ outcome_ratio('pr.n_with_network_meeting', 'pr.n_dossiers') }} as share_with_network_meeting,
    -- staff construct means (staff_survey)
    cast(coalesce(st.staff_n_responses, 0) as {{ b }}) as staff_n_responses
    {%- for c in staff_constructs %},
    cast(st.staff_{{ c }}_mean as {{ f }}) as staff_{{ c }}_mean
    {%- endfor %},
    -- client feedback means (client_feedback)
    cast(coalesce(fb.client_n_responses, 0) as {{ b }}) as client_n_responses,
    cast(fb.client_partnership_mean as {{ f }}) as client_partnership_mean,
    cast(fb.client_scaling_safety_mean as {{ f }}) as client_scaling_safety_mean,
    cast(fb.client_scaling_progress_mean as {{ f }}) as client_scaling_progress_mean,
    -- child feedback means (child_feedback)
    cast(coalesce(fb.child_n_responses, 0) as {{ b }}) as child_n_responses,
    cast(fb.child_participation_mean as {{ f }}) as child_participation_mean,
    cast(fb.child_scaling_safety_mean as {{ f }}) as child_scaling_safety_mean
from cells as k
left join practice as pr
    on pr.year = k.year and pr.region = k.region
left join closure as t
    on t.year_text = cast(k.year as {{ s }}) and t.region = k.region
left join placement as pl
    on pl.year_text = cast(k.year as {{ s }}) and pl.region = k.region
left join reopening as ro
    on ro.year_text = cast(k.year as {{ s }}) and ro.region = k.region
left join staff as st
    on st.year = k.year and st.region = k.region
left join feedback as fb
    on fb.year = k.year and fb.region = k.region
