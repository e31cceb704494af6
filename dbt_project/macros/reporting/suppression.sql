{#-
  Disclosure control for the `reporting` schema (SPEC 6).

  Rule
  ----
  * Primary suppression: a published count c with 0 < c < var('min_cell') (default 5) is withheld
    (null in reporting, its `<count>_suppressed` flag true). Zero counts are shown (a zero identifies
    nobody; withholding it would also force needless secondary suppressions); set
    `--vars '{suppress_zero_counts: true}'` to withhold zeros as well.
  * Secondary suppression: the counts of one table are laid out "long" as cells with dimensions
    (e.g. registration_year x service x region x status). Along every dimension a margin group is the
    set of cells that share all other dimensions: the detail cells plus the `all` total cell, bound by
    total = sum(detail). A group with exactly ONE hidden cell would reveal it by subtraction, so the
    visible detail cell of that group that comes first in a fixed pseudo-random order of the
    dimension's values (md5 of the value: the choice says nothing about any count, unlike "the
    smallest", which would tell a reader that the withheld cells are at most the smallest shown one) is
    hidden too; when no such detail cell is left, the total is hidden. A zero may be chosen like any
    other cell: if zeros were never withheld, every withheld cell would be known to be at least 1.
    One pass visits every dimension in turn; the pass is repeated var('suppression_passes', 5) times (cells are only ever added, so the
    result is monotone and a fixed point is reached quickly; the `reporting_margins_protected` test
    below fails the build if a lone hidden cell is left after the last pass).
  * Complements that the table does not show but that follow from it (e.g. not reopened =
    n_observable - n_reopened_365d) are cells too: a small complement hides the numerator.
  * This is a first pass. The margins of one table are not all a reader can combine: identities
    between columns and tables and the linear-programming attack over all of them are handled after
    the build by orchestration/disclosure (SPEC 6), which withholds more cells where this pass is not
    enough and audits the result (audit.disclosure_audit).

  Everything here is ANSI window SQL (sum/row_number over partition), portable to Spark (SPEC 7).
-#}

{#- The smallest count shown (SPEC 6), from `--vars '{min_cell: N}'`, default 5. -#}
{% macro reporting_min_cell() -%}
    {{- var('min_cell', 5) | int -}}
{%- endmacro %}

{#- True when `expression` (a non-null count) must be withheld by the primary rule. -#}
{% macro reporting_is_small(expression) -%}
    {%- if var('suppress_zero_counts', false) -%}
    ({{ expression }} >= 0 and {{ expression }} < {{ reporting_min_cell() }})
    {%- else -%}
    ({{ expression }} > 0 and {{ expression }} < {{ reporting_min_cell() }})
    {%- endif -%}
{%- endmacro %}

{#-
  reporting_suppress(input, keys, dims, total='all'): emits a chain of CTEs (to be placed inside a
  `with` clause, followed by a comma) ending in `<input>_suppressed`.

  input: a CTE with columns keys + dims + cell_value. `keys` are never varied (a measure group, or
         the item of a distribution); `dims` are string columns whose value `total` marks the margin
         total. Cells with a null value count as hidden (unknown to a reader) but are not flagged.
  output `<input>_suppressed`: keys + dims + cell_value +
         is_primary (0/1), is_hidden (0/1: withhold the value), is_suppressed (0/1: withheld by
         disclosure control, i.e. hidden and not null upstream), is_secondary (0/1).
-#}
{% macro reporting_suppress(input, keys, dims, total='all') -%}
    {%- set passes = var('suppression_passes', 5) | int -%}
    {%- set cols = keys + dims -%}
{{ input }}_s0 as (
    select
        {{ cols | join(', ') }},
        cell_value,
        case when cell_value is not null and {{ reporting_is_small('cell_value') }} then 1 else 0 end as is_primary,
        case when cell_value is null or {{ reporting_is_small('cell_value') }} then 1 else 0 end as is_hidden
    from {{ input }}
),
    {%- set ns = namespace(prev=input ~ '_s0', step=0) %}
    {%- for pass in range(passes) %}
    {%- for d in dims %}
    {%- set ns.step = ns.step + 1 %}
    {%- set others = [] %}
    {%- for c in cols %}{% if c != d %}{% do others.append(c) %}{% endif %}{% endfor %}
    {%- set window = ('partition by ' ~ (others | join(', '))) if others else '' %}
{{ input }}_s{{ ns.step }} as (
    -- pass {{ pass + 1 }}, margin along {{ d }}
    select
        {{ cols | join(', ') }},
        cell_value,
        is_primary,
        case when is_hidden = 1 or (group_hidden = 1 and pick = 1) then 1 else 0 end as is_hidden
    from (
        select
            {{ cols | join(', ') }},
            cell_value,
            is_primary,
            is_hidden,
            sum(is_hidden) over ({{ window }}) as group_hidden,
            row_number() over (
                {{ window }}
                order by
                    is_hidden,
                    case when {{ d }} = '{{ total }}' then 1 else 0 end,
                    {{ dbt.hash(d) }},
                    {{ d }}
            ) as pick
        from {{ ns.prev }}
    ) as ranked
),
    {%- set ns.prev = input ~ '_s' ~ ns.step %}
    {%- endfor %}
    {%- endfor %}
{{ input }}_suppressed as (
    select
        {{ cols | join(', ') }},
        cell_value,
        is_primary,
        is_hidden,
        case when is_hidden = 1 and cell_value is not null then 1 else 0 end as is_suppressed,
        case when is_hidden = 1 and is_primary = 0 and cell_value is not null then 1 else 0 end as is_secondary
    from {{ ns.prev }}
)
{%- endmacro %}


{#- Fails for every row that shows a count the primary rule withholds. -#}
{% test reporting_primary_suppressed(model, columns) %}
select *
from {{ model }}
where
    {%- for c in columns %}
    ({{ c }} is not null and {{ reporting_is_small(c) }}){% if not loop.last %} or{% endif %}
    {%- endfor %}
{% endtest %}


{#-
  Fails for every margin group of two or more cells in which exactly one cell is withheld (so that it
  could be recovered by subtraction). For each flag column and each dimension, a group is the rows sharing `keys` and the
  other dimensions (the `all` row of the dimension included). `total_flag`: a per-row flag of a total
  that is a column rather than an `all` row (item_distribution's n_valid), counted once per group.
  `row_relations`: lists of flags of counts bound within one row (n_dossiers = n_closed + n_censored);
  a row with exactly one of them true fails.
-#}
{% test reporting_margins_protected(model, flags, dims, keys=[], total_flag=none, row_relations=[]) %}
{%- set queries = [] -%}
{%- for f in flags -%}
  {%- for d in dims -%}
    {%- set others = [] -%}
    {%- for c in keys + dims %}{% if c != d %}{% do others.append(c) %}{% endif %}{% endfor -%}
    {%- set key_parts = [] -%}
    {%- for c in others %}{% do key_parts.append("coalesce(cast(" ~ c ~ " as " ~ dbt.type_string() ~ "), '~')") %}{% do key_parts.append("'|'") %}{% endfor -%}
    {%- set q -%}
    select '{{ f }}' as flag_column, '{{ d }}' as margin,
        {% if key_parts %}{{ dbt.concat(key_parts) }}{% else %}'-'{% endif %} as margin_group,
        sum(case when {{ f }} then 1 else 0 end)
        {%- if total_flag %} + max(case when {{ total_flag }} then 1 else 0 end){% endif %} as n_withheld,
        count(*){% if total_flag %} + 1{% endif %} as n_members
    from {{ model }}
    {% if others %}group by {{ others | join(', ') }}{% endif %}
    {%- endset -%}
    {%- do queries.append(q) -%}
  {%- endfor -%}
{%- endfor -%}
{%- for rel in row_relations -%}
    {%- set terms = [] -%}
    {%- for f in rel %}{% do terms.append("case when " ~ f ~ " then 1 else 0 end") %}{% endfor -%}
    {%- set q -%}
    select 'row: {{ rel | join(" ") }}' as flag_column, 'row' as margin, '-' as margin_group,
        {{ terms | join(' + ') }} as n_withheld,
        {{ rel | length }} as n_members
    from {{ model }}
    {%- endset -%}
    {%- do queries.append(q) -%}
{%- endfor %}
select * from (
    {{ queries | join('\n    union all\n') }}
) as margins
where n_withheld = 1 and n_members > 1
{% endtest %}


{#-
  suppression_cells(relation, dims, measures): the counts of `relation` laid out "long" as the cells that
  reporting_suppress reads (a relation body: one select per measure, joined by union all).
  dims: the columns that identify a row of `relation`, each cast to a string (so that 'all' fits).
  measures: a list of [measure_group, status, expression] or, for a table with one measure group, of
            [status, expression]; `expression` is a count over the columns of `relation` (a derivable
            complement such as 'n - observed' too).
  output columns: measure_group (only with 3-element measures), the dims, status, cell_value.
-#}
{% macro suppression_cells(relation, dims, measures) -%}
    {%- for measure in measures %}
    select
        {%- if measure | length == 3 %}
        '{{ measure[0] }}' as measure_group,
        {%- endif %}
        {%- for d in dims %}
        cast({{ d }} as {{ dbt.type_string() }}) as {{ d }},
        {%- endfor %}
        '{{ measure[-2] }}' as status,
        {{ measure[-1] }} as cell_value
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#-
  suppression_flags(cells, by, flags): one row per combination of the `by` columns of `cells` (the output of
  reporting_suppress, `<input>_suppressed`) with two 0/1 columns per flag [name, condition]:
  <name>_hidden (the count is withheld: hidden by disclosure control or null upstream) and <name>_flag (withheld
  by disclosure control), over the cells where `condition` (SQL over measure_group and status) holds.
  A relation body; the caller joins it back to the mart on the `by` columns.
-#}
{% macro suppression_flags(cells, by, flags) -%}
    select
        {%- for c in by %}
        {{ c }},
        {%- endfor %}
        {%- for name, condition in flags %}
        max(case when {{ condition }} then is_hidden else 0 end) as {{ name }}_hidden,
        max(case when {{ condition }} then is_suppressed else 0 end) as {{ name }}_flag
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ cells }}
    group by {{ by | join(', ') }}
{%- endmacro %}


{#- Floats published in reporting are rounded to 9 decimals, so that floating-point noise of a rebuild
    (order of summation, 1e-15) never changes a published value or a release's bytes (SPEC 6). -#}
{% macro reporting_round(expression) -%}
    round(cast({{ expression }} as {{ type_double() }}), 9)
{%- endmacro %}
