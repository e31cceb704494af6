-- raw.evaluation_exposures as typed columns: one row per practice exposure (SPEC 9.2). Rename and cast only.
{%- set s = dbt.type_string() %}
select
    cast(exposure as {{ s }}) as exposure,
    cast(event_type as {{ s }}) as event_type,
    cast(within_days as {{ dbt.type_int() }}) as within_days
from {{ studies_source_or_empty('raw_evaluation', 'evaluation_exposures', [
    ['exposure', s], ['event_type', s], ['within_days', dbt.type_int()]]) }} as e
