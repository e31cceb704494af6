{#-
  The survey measures of the loaded instrument definitions, read at compile time (SPEC 3.3, 4), for the marts
  that pivot marts.construct_means into one column per measure (marts.region_period_outcomes) or per response
  (marts.fct_feedback). Nothing here names a construct, item or population: a new instrument, construct,
  scaling question or population appears on the next run without a code change.

  survey_measures(where=none): a list of dicts, one per population x measure, sorted by population, kind
  (construct before scaling) and measure:
      {population, measure_kind ('construct' | 'scaling'), measure, column}
  column = '<population>_<measure>' unless the measure already starts with '<population>_' (construct
  child_participation of population child gives child_participation), with '_<measure_kind>' appended when
  a construct and a scaling item of one population would get the same name.
  `where`: an extra SQL condition on raw.survey_waves (alias w), e.g. 'w.has_dossier_key'.
  The raw tables exist in every warehouse (orchestration/warehouse.py RAW_DDL, and on Spark the on-run-start
  hook registers them), so an empty warehouse gives an empty list; while dbt only parses (execute false) the
  list is empty too.

  survey_populations(): the populations of the loaded waves, sorted.
-#}
{% macro survey_measures(where=none) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set waves = source('raw_surveys', 'survey_waves') -%}
        {%- set query -%}
            select w.population, 'construct' as measure_kind, c.construct as measure
            from {{ source('raw_surveys', 'survey_constructs') }} as c
            inner join {{ waves }} as w on w.instrument = c.instrument and w.wave = c.wave
            {% if where %}where {{ where }}{% endif %}
            union
            select w.population, 'scaling' as measure_kind, i.item as measure
            from {{ source('raw_surveys', 'survey_items') }} as i
            inner join {{ waves }} as w on w.instrument = i.instrument and w.wave = i.wave
            where i.item_kind = 'scaling' and i.role = 'item' and not i.is_text
            {% if where %}and {{ where }}{% endif %}
        {%- endset -%}
        {%- set rows = run_query(query) -%}
        {%- set items = [] -%}
        {%- for row in rows -%}{%- do items.append([row[0], row[1], row[2]]) -%}{%- endfor -%}
        {%- set used = [] -%}
        {%- for population, kind, measure in items | sort -%}
            {%- set column = measure if measure.startswith(population ~ '_') else population ~ '_' ~ measure -%}
            {%- if column in used -%}{%- set column = column ~ '_' ~ kind -%}{%- endif -%}
            {%- do used.append(column) -%}
            {%- do found.append({'population': population, 'measure_kind': kind, 'measure': measure,
                                 'column': column}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- survey_measure_names(where=none): the distinct measures (no population), sorted, as
    [{measure_kind, measure}] (constructs first); `where` as for survey_measures. -#}
{% macro survey_measure_names(where=none) -%}
    {%- set seen = [] -%}
    {%- set found = [] -%}
    {%- for m in survey_measures(where) | sort(attribute='measure') | sort(attribute='measure_kind') -%}
        {%- if [m.measure_kind, m.measure] not in seen -%}
            {%- do seen.append([m.measure_kind, m.measure]) -%}
            {%- do found.append({'measure_kind': m.measure_kind, 'measure': m.measure}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- survey_group_codes(where=none): [[instrument, wave, value text, code]] from the respondent_group codes
    of the loaded waves (raw.survey_waves.respondent_group_codes, JSON {value: code}; SPEC 3.3). -#}
{% macro survey_group_codes(where=none) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set rows = run_query("select w.instrument, w.wave, w.respondent_group_codes from "
                                 ~ source('raw_surveys', 'survey_waves') ~ " as w where w.respondent_group_codes is not null"
                                 ~ (" and " ~ where if where else "") ~ " order by 1, 2") -%}
        {%- for row in rows -%}
            {%- set codes = fromjson(row[2]) -%}
            {%- for value in codes | sort -%}
                {%- do found.append([row[0], row[1], value, codes[value]]) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{% macro survey_populations() -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set rows = run_query("select distinct population from " ~ source('raw_surveys', 'survey_waves')
                                 ~ " order by population") -%}
        {%- for row in rows -%}{%- do found.append(row[0]) -%}{%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- A SQL string literal of a text from the definitions (quotes doubled). -#}
{% macro survey_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{#-
  survey_ref(model_name): ref() of a survey model, read as an empty relation with its typed columns while it
  has never been built (ref_or_empty). marts.construct_means and the marts built on it read the
  dossier region (marts.fct_dossier), so the dossier job (every model downstream of the extracts) builds them
  too; in a warehouse that has loaded extracts but no survey wave yet the survey models they read do not
  exist, and the marts then build empty. Only the columns listed here can be read through it.
-#}
{% macro survey_ref(model_name) -%}
    {%- set s = dbt.type_string() -%}
    {%- set b = dbt.type_bigint() -%}
    {%- set f = type_double() -%}
    {%- set t = dbt.type_boolean() -%}
    {%- set columns = {
        'int_survey_responses_current': [['instrument', s], ['wave', s], ['wave_order', b], ['population', s],
            ['response_key', s], ['respondent_key', s], ['dossier_key', s], ['is_complete', t],
            ['submitted_at', dbt.type_timestamp()]],
        'fct_survey_response': [['instrument', s], ['wave', s], ['response_key', s], ['submitted_at', dbt.type_timestamp()]],
        'stg_surveys__waves': [['instrument', s], ['wave', s], ['population', s], ['respondent_group_item', s],
            ['respondent_group_codes', s], ['respondent_group_label', s], ['region_item', s],
            ['region_from_dossier', t], ['has_dossier_key', t]],
        'int_survey_answers_scored': [['instrument', s], ['wave', s], ['response_key', s], ['item', s],
            ['role', s], ['value', f], ['value_label', s], ['missing_reason', s]],
        'fct_scale_score': [['instrument', s], ['wave', s], ['response_key', s], ['construct', s], ['score', f],
            ['n_valid_items', b]],
        'fct_item_response': [['instrument', s], ['wave', s], ['response_key', s], ['item', s], ['role', s],
            ['value', f], ['missing_reason', s]],
        'stg_surveys__items': [['instrument', s], ['wave', s], ['item', s], ['item_text', s], ['role', s],
            ['construct', s], ['is_text', t], ['scheme_min', f], ['scheme_max', f], ['item_kind', s],
            ['scheme_anchors', s]],
        'stg_surveys__constructs': [['instrument', s], ['wave', s], ['construct', s], ['construct_label', s]],
        'int_survey_construct_comparability': [['instrument', s], ['wave', s], ['construct', s],
            ['scheme_version', b]],
        'int_survey_item_comparability': [['instrument', s], ['wave', s], ['item', s], ['scheme_version', b]],
        'int_survey_wave_years': [['instrument', s], ['wave', s], ['population', s], ['wave_order', b],
            ['fieldwork_start', 'date'], ['fieldwork_end', 'date'], ['wave_year', dbt.type_int()]],
    } -%}
    {{ ref_or_empty(model_name, columns[model_name]) }}
{%- endmacro %}
