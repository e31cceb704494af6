-- raw.implementation_rollout as typed columns: the roll-out date per region (SPEC 9.3). Rename and cast only.
{%- set s = dbt.type_string() %}
select
    cast(region as {{ s }}) as region,
    cast(rollout_date as date) as rollout_date
from {{ studies_source_or_empty('raw_evaluation', 'implementation_rollout', [
    ['region', s], ['rollout_date', 'date']]) }} as r
