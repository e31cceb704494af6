{#-
  Helpers for the feedback and region marts (marts.fct_feedback, marts.region_period_outcomes).

  These marts sit where the survey side and the dossier side meet, so both `dbt build --select
  source:raw_surveys+` and `--select source:raw_dossiers+` select them (orchestration/dbt_cli.py): a
  new survey wave or a new extract rebuilds them. In a warehouse that has only ever loaded one kind
  (a first survey wave before any dossier extract, or the other way round) the other side's models
  were never built. `feedback_ref_or_empty` keeps the lineage (it always calls ref()) but, at run
  time, when the relation does not exist yet, reads an empty relation with the same typed columns
  instead, so the mart builds with that side empty (and is rebuilt in full when the other kind loads).
  An existing relation is used as is.

  columns: a list of [name, type] pairs, the columns the caller reads.
-#}
{% macro feedback_ref_or_empty(model_name, columns) -%}
    {{ relation_or_empty(ref(model_name), columns) }}
{%- endmacro %}

{#- Two grouping levels: by region, and the 'all' row over every region (no CUBE / GROUPING SETS). -#}
{% macro feedback_region_levels() -%}
    select true as by_region union all select false as by_region
{%- endmacro %}

{#- The region column for a row of `levels`: the region, or the literal 'all'. -#}
{% macro feedback_region_column(region_column='region', levels='levels') -%}
    case when {{ levels }}.by_region then {{ region_column }} else 'all' end
{%- endmacro %}

