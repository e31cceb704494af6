{#-
  Funnel-plot control limits of an observed / expected ratio (SPEC 9.3), shared by marts.unit_comparison (units
  region and team_key) and marts.unit_comparison_by_label (units region and published team label).

  With X ~ Binomial(n, p0 = expected / n): ln pmf(k) = n ln(1 - p0) + sum_{j=1..k} (ln(n - j + 1) - ln j + ln p0 -
  ln(1 - p0)); the quantiles are the smallest k with P(X <= k) >= alpha / 2 and >= 1 - alpha / 2 (alpha = 0.05 and
  0.002), no interpolation for discreteness. Portable window SQL (SPEC 7).
-#}

{#-
  funnel_quantiles(measured, units): emits CTEs (inside a `with`, followed by a comma) ending in
  `<measured>_quantiles`: the `units` columns + q95_low, q95_high, q998_low, q998_high, one row per unit of
  `measured` with 0 < expected < n (none for the others).
  measured: a CTE with the `units` columns, n (count) and expected (double); units: list of column names that
  identify a row of `measured` (they may be null: partitions group nulls together).
-#}
{% macro funnel_quantiles(measured, units) -%}
    {%- set u = units | join(', ') -%}
{{ measured }}_binomial_terms as (
    select
        {% for c in units %}m.{{ c }}, {% endfor %}m.n, m.expected,
        i.k,
        case when i.k = 0 then m.n * {{ natural_log('1 - m.expected / m.n') }}
             else {{ natural_log('m.n - i.k + 1') }} - {{ natural_log('i.k') }} + {{ natural_log('m.expected / m.n') }}
                  - {{ natural_log('1 - m.expected / m.n') }} end as log_term
    from {{ measured }} as m
    inner join ({{ stat_integers() }}) as i
        on i.k <= m.n
    where m.expected > 0 and m.expected < m.n
),

{{ measured }}_binomial_cdf as (
    select
        {{ u }}, k,
        sum({{ exponential('log_pmf') }}) over (partition by {{ u }}
                                               order by k rows between unbounded preceding and current row) as cdf
    from (
        select
            t.*,
            sum(log_term) over (partition by {{ u }}
                                order by k rows between unbounded preceding and current row) as log_pmf
        from {{ measured }}_binomial_terms as t
    ) as pmf
),

{{ measured }}_quantiles as (
    select
        {{ u }},
        min(case when cdf >= 0.025 - 1e-12 then k end) as q95_low,
        min(case when cdf >= 0.975 - 1e-12 then k end) as q95_high,
        min(case when cdf >= 0.001 - 1e-12 then k end) as q998_low,
        min(case when cdf >= 0.999 - 1e-12 then k end) as q998_high
    from {{ measured }}_binomial_cdf
    group by {{ u }}
)
{%- endmacro %}

{#- The join condition of a row `m` of measured to its row `q` of the quantiles (null-safe on `nullable`). -#}
{% macro funnel_join(units, nullable=[], m='m', q='q') -%}
    {%- set parts = [] -%}
    {%- for c in units -%}
        {%- if c in nullable -%}
            {%- do parts.append('(' ~ q ~ '.' ~ c ~ ' = ' ~ m ~ '.' ~ c ~ ' or (' ~ q ~ '.' ~ c ~ ' is null and ' ~ m ~ '.' ~ c ~ ' is null))') -%}
        {%- else -%}
            {%- do parts.append(q ~ '.' ~ c ~ ' = ' ~ m ~ '.' ~ c) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ parts | join(' and ') }}
{%- endmacro %}

{#-
  The published columns computed from n, observed, expected of `m` and the quantiles `q` (left-joined):
  oe_ratio = observed / expected (null when expected = 0), observed_rate, expected_rate, the four limits
  (quantile / expected) and flag ('above_99.8' / 'below_99.8' beyond the 99.8 % quantiles, else 'above_95' /
  'below_95' beyond the 95 % ones, else 'within'; null without expected events).
-#}
{% macro funnel_columns(m='m', q='q') -%}
    case when {{ m }}.expected > 0 then {{ m }}.observed / {{ m }}.expected end as oe_ratio,
    {{ safe_ratio(m ~ '.observed', m ~ '.n') }} as observed_rate,
    case when {{ m }}.n > 0 then {{ m }}.expected / {{ m }}.n end as expected_rate,
    case when {{ m }}.expected > 0 then {{ q }}.q95_low / {{ m }}.expected end as limit95_low,
    case when {{ m }}.expected > 0 then {{ q }}.q95_high / {{ m }}.expected end as limit95_high,
    case when {{ m }}.expected > 0 then {{ q }}.q998_low / {{ m }}.expected end as limit998_low,
    case when {{ m }}.expected > 0 then {{ q }}.q998_high / {{ m }}.expected end as limit998_high,
    case
        when {{ m }}.expected is null or {{ m }}.expected = 0 or {{ q }}.q95_low is null then null
        when {{ m }}.observed > {{ q }}.q998_high then 'above_99.8'
        when {{ m }}.observed < {{ q }}.q998_low then 'below_99.8'
        when {{ m }}.observed > {{ q }}.q95_high then 'above_95'
        when {{ m }}.observed < {{ q }}.q95_low then 'below_95'
        else 'within'
    end as flag
{%- endmacro %}
