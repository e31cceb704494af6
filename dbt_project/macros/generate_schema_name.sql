{#- Schemas are named exactly as configured (staging, intermediate, marts, reporting), not
    prefixed with the target schema: the names are the contract of SPEC 4. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
