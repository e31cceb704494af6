-- raw.implementation_rollout as typed columns: the roll-out date per region (SPEC 9.3). Rename and cast only.
-- Ephemeral (inlined where used): the marts that read it are selected with the dossier or survey side
-- (source:raw_dossiers+, source:raw_surveys+), which never selects this model on its own.
{{ config(materialized='ephemeral') }}
{%- set s = dbt.type_string() %}
select
    cast(region as {{ s }}) as region,
    cast(rollout_date as date) as rollout_date
from {{ source_or_empty('raw_evaluation', 'implementation_rollout', [
    ['region', s], ['rollout_date', 'date']]) }} as r
