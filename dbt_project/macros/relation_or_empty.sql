{#-
  relation_or_empty(relation, columns): `relation` (from ref() or source(), so the lineage is kept), or, at run
  time, when it does not exist in the warehouse yet, an empty relation with the same typed columns, so a model
  reading it builds empty. columns: a list of [name, type] pairs, the columns the caller reads. Used by
  feedback_ref_or_empty (models on both the survey and the dossier side) and studies_source_or_empty (raw
  tables written before a dbt build).
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
