-- raw.evaluation_exposures as typed columns: one row per practice exposure (SPEC 9.2). Rename and cast only.
-- Ephemeral (inlined where used): the marts that read it are selected with the dossier or survey side
-- (source:raw_dossiers+, source:raw_surveys+), which never selects this model on its own.
{{ config(materialized='ephemeral') }}
{%- set s = dbt.type_string() %}
select
    cast(exposure as {{ s }}) as exposure,
    cast(event_type as {{ s }}) as event_type,
    cast(within_days as {{ dbt.type_int() }}) as within_days
from {{ source_or_empty('raw_evaluation', 'evaluation_exposures', [
    ['exposure', s], ['event_type', s], ['within_days', dbt.type_int()]]) }} as e
