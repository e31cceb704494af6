{#- valid_in_extract(alias, extract_date): true for a version (alias with valid_from / valid_to) that was in the
    extract dated `extract_date` (an SQL expression): valid_from <= E and (valid_to is null or valid_to > E).
    SPEC 4; the same rule as orchestration.history.as_of_condition. -#}
{% macro valid_in_extract(alias, extract_date) -%}
{{ alias }}.valid_from <= {{ extract_date }} and ({{ alias }}.valid_to is null or {{ alias }}.valid_to > {{ extract_date }})
{%- endmacro %}

{#- in_latest_extract(relation, alias): a from-clause item, the versions of `relation` (a ref() of a dossier
    staging model with valid_from / valid_to) as `alias` that are in the latest loaded extract, inner joined to
    int_dossier_extract_latest as `latest` (so latest.as_of_date can be selected). SPEC 4, 5: extracts are full
    snapshots, the latest one supersedes the earlier ones; no rows while no extract is loaded. -#}
{% macro in_latest_extract(relation, alias) -%}
{{ relation }} as {{ alias }}
    inner join {{ ref('int_dossier_extract_latest') }} as latest
        on {{ valid_in_extract(alias, 'latest.as_of_date') }}
{%- endmacro %}
