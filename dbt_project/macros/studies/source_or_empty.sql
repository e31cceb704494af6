{#-
  studies_source_or_empty(source_name, table_name, columns): the source relation, or, when the table does not
  exist (a warehouse whose dbt build never ran the study step, e.g. a hand-made test warehouse), an empty
  relation with the same typed columns, so the study marts build empty (SPEC 9.1). Keeps the lineage (it always
  calls source()). columns: list of [name, type] pairs.
-#}
{% macro studies_source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set found = relation -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                             identifier=relation.identifier) -%}
    {%- endif -%}
    {%- if found is none -%}
        (select
        {%- for name, type in columns %}
            cast(null as {{ type }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
        where 1 = 0)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
