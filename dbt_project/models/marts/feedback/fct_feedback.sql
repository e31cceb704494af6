-- marts.fct_feedback: one row per current response of an instrument linked to dossiers (dossier_key in its
-- definition: client and child feedback; not the case audits), joined to marts.fct_dossier by dossier key (SPEC 4).
-- Generated from the loaded definitions (macros/surveys/measures.sql): per construct of these instruments
-- <construct>_score and <construct>_n_valid_items (marts.fct_scale_score, SPEC 5 rule), per scaling question
-- <item> and <item>_missing_reason (marts.fct_item_response: a declared missing code is a reason, never a
-- value); an instrument without one of them has null there. respondent_role: the short code the definition's
-- respondent_group codes give the group attribute's value (e.g. 1 -> parent), else that value's label; the
-- population when the instrument has no group attribute. respondent_role_label: the value label, or the
-- group label of the definition (else the population). respondent_group: the group as in
-- marts.construct_means. No instrument, construct, item or group name is written here.
{#- feedback: instruments linked to dossiers, except the case audits (population var audit_population, SPEC 5) -#}
{%- set feedback_waves = "w.has_dossier_key and w.population <> '" ~ var('audit_population') ~ "'" -%}
{%- set measures = survey_measure_names(feedback_waves) -%}
{%- set codes = survey_group_codes(feedback_waves) -%}
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = type_double() %}

with responses as (
    select
        g.instrument,
        g.wave,
        g.wave_order,
        g.population,
        g.response_key,
        g.respondent_key,
        g.dossier_key,
        g.is_complete,
        g.respondent_group,
        g.respondent_group_value,
        g.respondent_group_label,
        r.submitted_at,
        w.respondent_group_item
    from {{ ref('int_survey_response_groups') }} as g
    inner join {{ survey_ref('stg_surveys__waves') }} as w
        on w.instrument = g.instrument and w.wave = g.wave
    inner join {{ survey_ref('fct_survey_response') }} as r
        on r.response_key = g.response_key
    where {{ feedback_waves }}
),

waves as (
    select instrument, wave, fieldwork_start, fieldwork_end, wave_year
    from {{ survey_ref('int_survey_wave_years') }}
),

items as (
    select
        i.response_key
        {%- for m in measures if m.measure_kind == 'scaling' %},
        max(case when i.item = {{ survey_literal(m.measure) }} then i.value end) as {{ adapter.quote(m.measure) }},
        max(case when i.item = {{ survey_literal(m.measure) }} then i.missing_reason end)
            as {{ adapter.quote(m.measure ~ '_missing_reason') }}
        {%- endfor %}
    from {{ survey_ref('fct_item_response') }} as i
    inner join {{ survey_ref('stg_surveys__items') }} as d
        on d.instrument = i.instrument and d.wave = i.wave and d.item = i.item
    where d.item_kind = 'scaling' and i.role = 'item'
    group by i.response_key
),

scores as (
    select
        response_key
        {%- for m in measures if m.measure_kind == 'construct' %},
        max(case when construct = {{ survey_literal(m.measure) }} then score end) as {{ adapter.quote(m.measure ~ '_score') }},
        max(case when construct = {{ survey_literal(m.measure) }} then n_valid_items end)
            as {{ adapter.quote(m.measure ~ '_n_valid_items') }}
        {%- endfor %}
    from {{ survey_ref('fct_scale_score') }}
    group by response_key
),

dossiers as (
    select
        dossier_key,
        service,
        region,
        team,
        registration_date,
        closure_date,
        registration_year
    from {{ ref_or_empty('fct_dossier', [
        ['dossier_key', s], ['service', s], ['region', s], ['team', s], ['registration_date', 'date'],
        ['closure_date', 'date'], ['registration_year', dbt.type_int()]]) }} as d
)

select
    r.instrument,
    r.population,
    r.wave,
    r.wave_order,
    w.wave_year as fieldwork_year,
    w.fieldwork_start,
    w.fieldwork_end,
    r.response_key,
    r.respondent_key,
    r.dossier_key,
    r.is_complete,
    r.submitted_at,
    case
        when r.respondent_group_item is null then r.population
        {%- for instrument, wave, value, code in codes %}
        when r.instrument = {{ survey_literal(instrument) }} and r.wave = {{ survey_literal(wave) }}
            and r.respondent_group_value = {{ value }}E0 then {{ survey_literal(code) }}
        {%- endfor %}
        else r.respondent_group_label
    end as respondent_role,
    r.respondent_group_label as respondent_role_label,
    r.respondent_group,
    d.dossier_key is not null as dossier_found,
    d.service,
    d.region,
    d.team,
    d.registration_year,
    d.registration_date,
    d.closure_date,
    case
        when d.dossier_key is null or w.fieldwork_start is null or w.fieldwork_end is null then null
        else d.registration_date <= w.fieldwork_end
            and (d.closure_date is null or d.closure_date >= w.fieldwork_start)
    end as dossier_open_during_fieldwork
    {%- for m in measures if m.measure_kind == 'construct' %},
    cast(sc.{{ adapter.quote(m.measure ~ '_score') }} as {{ f }}) as {{ adapter.quote(m.measure ~ '_score') }},
    cast(sc.{{ adapter.quote(m.measure ~ '_n_valid_items') }} as {{ b }}) as {{ adapter.quote(m.measure ~ '_n_valid_items') }}
    {%- endfor %}
    {%- for m in measures if m.measure_kind == 'scaling' %},
    cast(i.{{ adapter.quote(m.measure) }} as {{ f }}) as {{ adapter.quote(m.measure) }},
    i.{{ adapter.quote(m.measure ~ '_missing_reason') }}
    {%- endfor %}
from responses as r
left join waves as w
    on w.instrument = r.instrument and w.wave = r.wave
-- items and scores give one column per loaded construct and item (none while sqlfluff renders the model)
left join items as i  -- noqa: ST11
    on i.response_key = r.response_key
left join scores as sc  -- noqa: ST11
    on sc.response_key = r.response_key
left join dossiers as d
    on d.dossier_key = r.dossier_key
