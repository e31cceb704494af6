-- raw.study_follow_up_months as typed columns: one row per study x follow-up month (SPEC 9.1). Rename and cast only.
{%- set s = dbt.type_string() %}
select
    cast(study as {{ s }}) as study,
    cast(follow_up_month as {{ dbt.type_int() }}) as follow_up_month
from {{ studies_source_or_empty('raw_studies', 'study_follow_up_months', [
    ['study', s], ['follow_up_month', dbt.type_int()]]) }} as m
