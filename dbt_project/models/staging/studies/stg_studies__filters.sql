-- raw.study_filters as typed columns: one row per study x filter value, dimension service, region or team
-- (SPEC 9.1). Rename and cast only.
{%- set s = dbt.type_string() %}
select
    cast(study as {{ s }}) as study,
    cast(dimension as {{ s }}) as dimension,
    cast(value as {{ s }}) as filter_value
from {{ studies_source_or_empty('raw_studies', 'study_filters', [
    ['study', s], ['dimension', s], ['value', s]]) }} as f
