{#-
  relation_or_empty(relation, columns): `relation` (from ref() or source(), so the lineage is kept), or, at run
  time, when it does not exist in the warehouse yet, an empty relation with the same typed columns, so a model
  reading it builds empty. columns: a list of [name, type] pairs, the columns the caller reads. Used through
  ref_or_empty and source_or_empty below.
-#}
{% macro relation_or_empty(relation, columns) -%}
    {%- set found = relation -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                             identifier=relation.identifier) -%}
    {%- endif -%}
    {%- if found is none -%}
        {%- do log("relation_or_empty: " ~ relation ~ " does not exist yet; read as empty", info=false) -%}
        (select
        {%- for name, type in columns %}
            cast(null as {{ type }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
        where 1 = 0)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#-
  ref_or_empty(model_name, columns): relation_or_empty(ref(model_name), columns).
  Models that sit where the survey side and the dossier side meet (marts.fct_feedback,
  marts.region_period_outcomes, ...) are downstream of both kinds of input, so both mart jobs rebuild them
  (orchestration/jobs.py: build_survey_marts and build_dossier_marts select every model downstream of the
  survey or dossier ingestion assets): a new survey wave or a new extract rebuilds them. In a warehouse that
  has only ever loaded one kind (a first survey wave before any dossier extract, or the other way round) the
  other side's models were never built; they are read as empty (the lineage is kept: ref() is always called),
  and the model is rebuilt in full when the other kind loads.
-#}
{% macro ref_or_empty(model_name, columns) -%}
    {{ relation_or_empty(ref(model_name), columns) }}
{%- endmacro %}

{#-
  source_or_empty(source_name, table_name, columns): relation_or_empty(source(source_name, table_name), columns),
  for raw tables written outside the ingestion assets (the study definitions and the evaluation tables, SPEC 9.1):
  a hand-made test warehouse that never ran that step builds these models empty.
-#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {{ relation_or_empty(source(source_name, table_name), columns) }}
{%- endmacro %}
