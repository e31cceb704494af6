-- marts.fct_feedback: one row per current response of a client or child feedback instrument
-- (population client or child), joined to marts.fct_dossier by dossier key (SPEC 4).
-- Construct scores come from marts.fct_scale_score (SPEC 5 rule: mean of valid items when enough
-- items are valid); the 0-10 scaling questions and the respondent role from marts.fct_item_response,
-- so a declared missing code (e.g. -9 weet niet) is a missing reason, never a value.
-- Each instrument's items and constructs are pivoted by id: scaling items `scaling_safety` and
-- `scaling_progress`, constructs `partnership` (client_feedback) and `child_participation`
-- (child_feedback); an instrument without one of them has null there.
{%- set constructs = ['partnership', 'child_participation'] -%}
{%- set scaling_items = ['scaling_safety', 'scaling_progress'] -%}
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = outcome_type_double() %}

with responses as (
    select
        instrument,
        wave,
        wave_order,
        population,
        response_key,
        respondent_key,
        dossier_key,
        is_complete,
        submitted_at
    from {{ feedback_ref_or_empty('fct_survey_response', [
        ['instrument', s], ['wave', s], ['wave_order', b], ['population', s], ['response_key', s],
        ['respondent_key', s], ['dossier_key', s], ['is_complete', dbt.type_boolean()],
        ['submitted_at', dbt.type_timestamp()]]) }} as r
    where population in ('client', 'child')
),

waves as (
    select instrument, wave, fieldwork_start, fieldwork_end, wave_year
    from {{ feedback_ref_or_empty('int_survey_wave_years', [
        ['instrument', s], ['wave', s], ['fieldwork_start', 'date'], ['fieldwork_end', 'date'],
        ['wave_year', dbt.type_int()]]) }} as w
),

items as (
    select
        response_key,
        max(case when item = 'respondent_role' and role = 'attribute' then value end) as respondent_role_value,
        max(case when item = 'respondent_role' and role = 'attribute' then value_label end) as respondent_role_label
        {%- for it in scaling_items %},
        max(case when item = '{{ it }}' and role = 'item' then value end) as {{ it }},
        max(case when item = '{{ it }}' and role = 'item' then missing_reason end) as {{ it }}_missing_reason
        {%- endfor %}
    from {{ feedback_ref_or_empty('fct_item_response', [
        ['response_key', s], ['item', s], ['role', s], ['value', f], ['value_label', s],
        ['missing_reason', s]]) }} as i
    where item in ('respondent_role'{% for it in scaling_items %}, '{{ it }}'{% endfor %})
    group by response_key
),

scores as (
    select
        response_key
        {%- for c in constructs %},
        max(case when construct = '{{ c }}' then score end) as {{ c }}_score,
        max(case when construct = '{{ c }}' then n_valid_items end) as {{ c }}_n_valid_items
        {%- endfor %}
    from {{ feedback_ref_or_empty('fct_scale_score', [
        ['response_key', s], ['construct', s], ['score', f], ['n_valid_items', b]]) }} as c
    where construct in ({% for c in constructs %}'{{ c }}'{% if not loop.last %}, {% endif %}{% endfor %})
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
    from {{ feedback_ref_or_empty('fct_dossier', [
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
        when r.population = 'child' then 'child'
        when i.respondent_role_value = 1 then 'parent'
        when i.respondent_role_value = 2 then 'network'
    end as respondent_role,
    case when r.population = 'child' then 'kind of jongere' else i.respondent_role_label end as respondent_role_label,
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
    {%- for c in constructs %},
    cast(sc.{{ c }}_score as {{ f }}) as {{ c }}_score,
    sc.{{ c }}_n_valid_items
    {%- endfor %}
    {%- for it in scaling_items %},
    cast(i.{{ it }} as {{ f }}) as {{ it }},
    i.{{ it }}_missing_reason
    {%- endfor %}
from responses as r
left join waves as w
    on w.instrument = r.instrument and w.wave = r.wave
left join items as i
    on i.response_key = r.response_key
left join scores as sc
    on sc.response_key = r.response_key
left join dossiers as d
    on d.dossier_key = r.dossier_key
