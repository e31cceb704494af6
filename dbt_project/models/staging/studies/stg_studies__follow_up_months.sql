-- raw.study_follow_up_months as typed columns: one row per study x follow-up month (SPEC 9.1). Rename and cast only.
-- Ephemeral (inlined where used): the marts that read it are selected with the dossier or survey side
-- (source:raw_dossiers+, source:raw_surveys+), which never selects this model on its own.
{{ config(materialized='ephemeral') }}
{%- set s = dbt.type_string() %}
select
    cast(study as {{ s }}) as study,
    cast(follow_up_month as {{ dbt.type_int() }}) as follow_up_month
from {{ source_or_empty('raw_studies', 'study_follow_up_months', [
    ['study', s], ['follow_up_month', dbt.type_int()]]) }} as m
