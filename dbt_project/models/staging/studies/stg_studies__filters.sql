-- raw.study_filters as typed columns: one row per study x filter value, dimension service, region or team
-- (SPEC 9.1). Rename and cast only.
-- Ephemeral (inlined where used): the marts that read it are selected with the dossier or survey side
-- (source:raw_dossiers+, source:raw_surveys+), which never selects this model on its own.
{{ config(materialized='ephemeral') }}
{%- set s = dbt.type_string() %}
select
    cast(study as {{ s }}) as study,
    cast(dimension as {{ s }}) as dimension,
    cast(value as {{ s }}) as filter_value
from {{ source_or_empty('raw_studies', 'study_filters', [
    ['study', s], ['dimension', s], ['value', s]]) }} as f
