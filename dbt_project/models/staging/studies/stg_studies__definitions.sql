-- raw.study_definitions as typed columns: one row per valid study definition (SPEC 9.1). Rename and cast only.
-- Ephemeral (inlined where used): the marts that read it are selected with the dossier or survey side
-- (source:raw_dossiers+, source:raw_surveys+), which never selects this model on its own.
{{ config(materialized='ephemeral') }}
{%- set s = dbt.type_string() %}
select
    cast(study as {{ s }}) as study,
    cast(title as {{ s }}) as title,
    cast(enrolment_from as date) as enrolment_from,
    cast(enrolment_to as date) as enrolment_to,
    cast(age_min as {{ dbt.type_int() }}) as age_min,
    cast(age_max as {{ dbt.type_int() }}) as age_max,
    cast(feedback_window_days as {{ dbt.type_int() }}) as feedback_window_days,
    cast(source_file as {{ s }}) as source_file,
    cast(definition_sha256 as {{ s }}) as definition_sha256
from {{ source_or_empty('raw_studies', 'study_definitions', [
    ['study', s], ['title', s], ['enrolment_from', 'date'], ['enrolment_to', 'date'],
    ['age_min', dbt.type_int()], ['age_max', dbt.type_int()], ['feedback_window_days', dbt.type_int()],
    ['source_file', s], ['definition_sha256', s]]) }} as d
