-- marts.region_period_outcomes: year x region (SPEC 4). Hard outcomes, practice breadth and the survey
-- means of every loaded instrument side by side, one row per year and region that has any of them, plus a
-- region = 'all' row per year (over every region, including respondents without a region).
--
-- What "year" means per block:
--   hard outcomes and practice breadth: the registration year of the dossiers (the registration cohort,
--     as in marts.outcome_time_to_closure / outcome_placement with service = 'all'), except
--     reopening_rate: the closure year (marts.outcome_reopening, service = 'all');
--   survey means: the year of the wave (marts.construct_means.wave_year); the region is the one the
--     instrument declares (a region attribute item, or the linked dossier's region: SPEC 3.3).
-- Survey columns are a pivot of marts.construct_means (respondent_group = 'all'), generated at compile time
-- from the loaded definitions (macros/surveys/measures.sql), one set per population:
--   <population>_n_responses: current responses of the population's instruments in waves of the year;
--   <population>_<measure>_mean (or <measure>_mean when the measure starts with the population's name):
--     the mean of a construct score or scaling question over the year's respondents with a value, pooled
--     over the population's instruments and the year's waves (sum of mean x n / sum of n = the mean over
--     every such respondent). Regions 'unknown' of construct_means are counted in 'all' only.
-- Practice depth (case audits, marts.practice_depth) per region and year (its periods of the year pooled):
-- depth_n_audited, depth_mean, depth_share_meeting_standard; null where nothing was audited or while that
-- mart was never built.
-- Built after the other survey marts of the combined view, so that `dbt build --select +region_period_outcomes`
-- builds marts.fct_feedback (and fct_survey_response, which it reads) too:
-- depends_on: {{ ref('fct_feedback') }}
{%- set measures = survey_measures() -%}
{%- set populations = survey_populations() -%}
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = type_double() %}

with levels as (
    {{ region_levels() }}
),

-- hard outcomes: the outcome marts' service = 'all' rows (they already carry region = 'all' margins)
closure as (
    select registration_year as year_text, region, n_dossiers, km_median_days, km_closed_within_365d
    from {{ ref_or_empty('outcome_time_to_closure', [
        ['registration_year', s], ['service', s], ['region', s], ['n_dossiers', b],
        ['km_median_days', b], ['km_closed_within_365d', f]]) }} as t
    where service = 'all' and registration_year <> 'all'
),

placement as (
    select registration_year as year_text, region, n_observable, placement_rate, moves_per_1000_days
    from {{ ref_or_empty('outcome_placement', [
        ['registration_year', s], ['service', s], ['region', s], ['n_observable', b],
        ['placement_rate', f], ['moves_per_1000_days', f]]) }} as p
    where service = 'all' and registration_year <> 'all'
),

reopening as (
    select closure_year as year_text, region, n_observable, reopening_rate
    from {{ ref_or_empty('outcome_reopening', [
        ['closure_year', s], ['service', s], ['region', s], ['n_observable', b],
        ['reopening_rate', f]]) }} as o
    where service = 'all' and closure_year <> 'all'
),

-- practice breadth: dossiers of the registration cohort with each SofS step recorded (by as_of_date)
practice as (
    select
        d.registration_year as year,
        {{ region_or_all('d.region') }} as region,
        count(*) as n_dossiers,
        sum(case when d.has_mapping then 1 else 0 end) as n_with_mapping,
        sum(case when d.has_safety_plan then 1 else 0 end) as n_with_safety_plan,
        sum(case when d.has_network_meeting then 1 else 0 end) as n_with_network_meeting
    from {{ ref_or_empty('fct_dossier', [
        ['registration_year', dbt.type_int()], ['region', s], ['has_mapping', dbt.type_boolean()],
        ['has_safety_plan', dbt.type_boolean()], ['has_network_meeting', dbt.type_boolean()]]) }} as d
    cross join levels
    group by d.registration_year, {{ region_or_all('d.region') }}
),

-- survey means: construct_means over every group, pooled per population x measure x year x region
survey_cells as (
    select
        cast(wave_year as {{ dbt.type_int() }}) as year,
        region,
        population,
        measure_kind,
        measure,
        n_respondents,
        mean
    from {{ ref('construct_means') }}
    where respondent_group = 'all' and region <> 'unknown' and wave_year is not null
),

survey as (
    select
        year,
        region
        {%- for p in populations %},
        sum(case when population = {{ survey_literal(p) }} and measure_kind = 'responses' then n_respondents end)
            as {{ adapter.quote(p ~ '_n_responses') }}
        {%- endfor %}
        {%- for m in measures %},
        sum(case when population = {{ survey_literal(m.population) }} and measure_kind = '{{ m.measure_kind }}'
                 and measure = {{ survey_literal(m.measure) }} then mean * n_respondents end)
        / sum(case when population = {{ survey_literal(m.population) }} and measure_kind = '{{ m.measure_kind }}'
                   and measure = {{ survey_literal(m.measure) }} then n_respondents end)
            as {{ adapter.quote(m.column ~ '_mean') }}
        {%- endfor %}
    from survey_cells
    group by year, region
),

-- practice depth from the case audits (marts.practice_depth, SPEC 4: its team = 'all' rows per region and the
-- region = 'all' row per period; read as empty while it has never been built). A period is a year (2024) or a
-- half year (2024H1, dbt var audit_period): the periods of a year are pooled (n_audited summed, means weighted
-- by n_audited, so a dossier audited in both halves of a year counts twice).
depth as (
    select
        substring(cast(period as {{ s }}), 1, 4) as year_text,
        region,
        sum(n_audited) as n_audited,
        sum(case when mean_depth is not null then mean_depth * n_audited end)
            / sum(case when mean_depth is not null then n_audited end) as mean_depth,
        sum(case when share_meeting_standard is not null then share_meeting_standard * n_audited end)
            / sum(case when share_meeting_standard is not null then n_audited end) as share_meeting_standard
    from {{ ref_or_empty('practice_depth', [
        ['region', s], ['team', s], ['period', s], ['n_audited', b], ['mean_depth', f],
        ['share_meeting_standard', f]]) }} as pd
    where team = 'all' and n_audited > 0
    group by substring(cast(period as {{ s }}), 1, 4), region
),

cells as (
    select year, region from practice
    union
    select year, region from survey
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
    {{ safe_ratio('pr.n_with_mapping', 'pr.n_dossiers') }} as share_with_mapping,
    {{ safe_ratio('pr.n_with_safety_plan', 'pr.n_dossiers') }} as share_with_safety_plan,
    {{ safe_ratio('pr.n_with_network_meeting', 'pr.n_dossiers') }} as share_with_network_meeting,
    -- practice depth (case audits; null until marts.practice_depth exists)
    cast(dp.n_audited as {{ b }}) as depth_n_audited,
    cast(dp.mean_depth as {{ f }}) as depth_mean,
    -- survey: per population the responses and the mean of every construct and scaling question
    cast(dp.share_meeting_standard as {{ f }}) as depth_share_meeting_standard
    {%- for p in populations %},
    cast(coalesce(sv.{{ adapter.quote(p ~ '_n_responses') }}, 0) as {{ b }}) as {{ adapter.quote(p ~ '_n_responses') }}
    {%- endfor %}
    {%- for m in measures %},
    cast(sv.{{ adapter.quote(m.column ~ '_mean') }} as {{ f }}) as {{ adapter.quote(m.column ~ '_mean') }}
    {%- endfor %}
from cells as k
left join practice as pr
    on pr.year = k.year and pr.region = k.region
left join closure as t
    on t.year_text = cast(k.year as {{ s }}) and t.region = k.region
left join placement as pl
    on pl.year_text = cast(k.year as {{ s }}) and pl.region = k.region
left join reopening as ro
    on ro.year_text = cast(k.year as {{ s }}) and ro.region = k.region
-- survey gives one column per loaded population and measure (none while sqlfluff renders the model)
left join survey as sv  -- noqa: ST11
    on sv.year = k.year and sv.region = k.region
left join depth as dp
    on dp.year_text = cast(k.year as {{ s }}) and dp.region = k.region
