-- marts.fct_survey_response: one row per instrument x wave x response (SPEC 4), with one column per
-- attribute item (a respondent characteristic such as function or region: its value) and
-- <item>_label (its value label). The attribute columns are read from the loaded instrument definitions.
{%- set attributes = [] -%}
{%- if execute -%}
    {%- set rows = run_query("select distinct item from " ~ source('raw_surveys', 'survey_items') ~ " where role = 'attribute' order by item") -%}
    {%- for row in rows -%}{%- do attributes.append(row[0]) -%}{%- endfor -%}
{%- endif %}
select
    r.instrument,
    r.wave,
    r.response_key,
    r.respondent_key,
    r.dossier_key,
    r.is_complete,
    r.lastpage,
    r.submitted_at,
    r.wave_order,
    r.population
    {%- for attr in attributes %},
    max(case when a.item = '{{ attr }}' then a.value end) as {{ adapter.quote(attr) }},
    max(case when a.item = '{{ attr }}' then a.value_label end) as {{ adapter.quote(attr ~ '_label') }}
    {%- endfor %}
from {{ ref('int_survey_responses_current') }} as r
left join {{ ref('int_survey_answers_scored') }} as a
    on a.response_key = r.response_key and a.role = 'attribute'
group by
    r.instrument, r.wave, r.response_key, r.respondent_key, r.dossier_key, r.is_complete, r.lastpage,
    r.submitted_at, r.wave_order, r.population
