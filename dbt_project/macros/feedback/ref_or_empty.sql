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
    {%- set relation = ref(model_name) -%}
    {%- set found = relation -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                             identifier=relation.identifier) -%}
    {%- endif -%}
    {%- if found is none -%}
        {%- do log("feedback_ref_or_empty: " ~ relation ~ " does not exist yet; read as empty", info=false) -%}
        (select
        {%- for name, type in columns %}
            cast(null as {{ type }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
        where 1 = 0)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- Two grouping levels: by region, and the 'all' row over every region (no CUBE / GROUPING SETS). -#}
{% macro feedback_region_levels() -%}
    select true as by_region union all select false as by_region
{%- endmacro %}

{#- The region column for a row of `levels`: the region, or the literal 'all'. -#}
{% macro feedback_region_column(region_column='region', levels='levels') -%}
    case when {{ levels }}.by_region then {{ region_column }} else 'all' end
{%- endmacro %}

