{#- Schemas are named exactly as configured (staging, intermediate, marts, reporting), not
    prefixed with the target schema: the names are the contract of SPEC 4.
    On Spark (SPEC 7) every schema is a database of a catalog that several environments may share, so
    there it is prefixed with the target's schema: <target.schema>_marts (spark_schema_name). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif target.type == 'spark' -%}{{ spark_schema_name(custom_schema_name | trim) }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
