{#-
  studies_source_or_empty(source_name, table_name, columns): the source relation, or, when the table does not
  exist (a warehouse whose dbt build never ran the study step, e.g. a hand-made test warehouse), an empty
  relation with the same typed columns, so the study marts build empty (SPEC 9.1). Keeps the lineage (it always
  calls source()). columns: list of [name, type] pairs.
-#}
{% macro studies_source_or_empty(source_name, table_name, columns) -%}
    {{ relation_or_empty(source(source_name, table_name), columns) }}
{%- endmacro %}
