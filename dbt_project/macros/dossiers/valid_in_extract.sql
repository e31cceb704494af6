{% macro valid_in_extract(alias, extract_date) -%}
{#- True for a version (alias with valid_from / valid_to) that was in the extract dated `extract_date`
    (an SQL expression): valid_from <= E and (valid_to is null or valid_to > E). SPEC 4; the same rule as
    orchestration.history.as_of_condition. -#}
{{ alias }}.valid_from <= {{ extract_date }} and ({{ alias }}.valid_to is null or {{ alias }}.valid_to > {{ extract_date }})
{%- endmacro %}
