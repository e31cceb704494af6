{#-
  Engine-specific SQL that dbt's cross-database macros do not cover, behind adapter.dispatch, so the
  same models run on DuckDB (the embedded default) and on Spark through dbt-spark (SPEC 7).
-#}

{#-
  ordered_string_agg(value, order_by, delimiter): an aggregate that joins the non-null `value`s of a group
  with `delimiter` (a SQL string literal, e.g. "''" or "'; '") in the order of `order_by` (one SQL
  expression or a list of them, ascending, nulls last). Null when the group has no non-null value.

  dbt's listagg cannot be used for this on Spark: dbt-spark's listagg ignores its order by (it is
  collect_list, whose order depends on how Spark shuffled the rows). On Spark the values are collected
  as structs (order keys first, then the value), sorted with array_sort and joined with array_join.
  Ties on the order keys are broken by the value on Spark and arbitrarily on DuckDB: give keys that are
  unique within the group when the order of ties matters.
-#}
{% macro ordered_string_agg(value, order_by, delimiter) -%}
    {%- set keys = [order_by] if order_by is string else order_by -%}
    {{ return(adapter.dispatch('ordered_string_agg')(value, keys, delimiter)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(value, keys, delimiter) -%}
    {{ dbt.listagg(value, delimiter, 'order by ' ~ (keys | join(', '))) }}
{%- endmacro %}

{% macro spark__ordered_string_agg(value, keys, delimiter) -%}
    {%- set fields = [] -%}
    {%- for k in keys -%}
        {%- do fields.append("'n" ~ loop.index ~ "', case when " ~ k ~ " is null then 1 else 0 end") -%}
        {%- do fields.append("'k" ~ loop.index ~ "', " ~ k) -%}
    {%- endfor -%}
    case when count({{ value }}) > 0 then array_join(
        transform(
            array_sort(collect_list(case when {{ value }} is not null
                                         then named_struct({{ fields | join(', ') }}, 'v', {{ value }}) end)),
            s -> s.v),
        {{ delimiter }}) end
{%- endmacro %}

{#- type_double(): a double-precision floating type (dbt.type_float() is a 4-byte FLOAT on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}
{% macro default__type_double() -%}double precision{%- endmacro %}
{% macro duckdb__type_double() -%}double{%- endmacro %}
{% macro spark__type_double() -%}double{%- endmacro %}

{#- natural_log(expression), exponential(expression): ln and exp, e.g. for the Kaplan-Meier product
    S(t) = exp(sum(ln(1 - d/n))) (macros/statistics/km.sql). -#}
{% macro natural_log(expression) -%}
    {{ return(adapter.dispatch('natural_log')(expression)) }}
{%- endmacro %}
{% macro default__natural_log(expression) -%}ln({{ expression }}){%- endmacro %}

{% macro exponential(expression) -%}
    {{ return(adapter.dispatch('exponential')(expression)) }}
{%- endmacro %}
{% macro default__exponential(expression) -%}exp({{ expression }}){%- endmacro %}

{#- median(expression): an aggregate, the median by linear interpolation between the two middle values. -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}
{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__median(expression) -%}
    quantile_cont({{ expression }}, 0.5)
{%- endmacro %}
{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}

{#- type_bigint_sum(): the type of sum() over whole numbers: hugeint (128-bit) on DuckDB, bigint on Spark and
    elsewhere. For reporting columns that pass on such a sum from a mart, so that their contract type holds
    whatever type the mart was built with. -#}
{% macro type_bigint_sum() -%}
    {{ return(adapter.dispatch('type_bigint_sum')()) }}
{%- endmacro %}
{% macro default__type_bigint_sum() -%}bigint{%- endmacro %}
{% macro duckdb__type_bigint_sum() -%}hugeint{%- endmacro %}
