{#-
  Interval and test statistics as portable SQL expressions (SPEC 9; SPEC 7: no engine-specific functions).

  wilson_low(x, n, z) / wilson_high(x, n, z): the Wilson score interval of a proportion x / n (x, n counts),
  z the normal quantile (default 1.959963984540054, a 95 % interval):
      (p + z^2 / 2n -/+ z * sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n),  p = x / n;
  the same as statsmodels' proportion_confint(x, n, method="wilson"). Exactly 0 (x = 0) and 1 (x = n) at the
  ends, where the formula gives 0 and 1 up to rounding (-0.0 otherwise). Null when n is 0 or null.
-#}
{% macro wilson_z95() -%}1.959963984540054{%- endmacro %}

{% macro wilson_low(x, n, z=none) -%}
    {%- set z = z or wilson_z95() -%}
    {%- set p = '(cast(' ~ x ~ ' as ' ~ type_double() ~ ') / ' ~ n ~ ')' -%}
    case when {{ n }} > 0 and {{ x }} = 0 then cast(0 as {{ type_double() }})
         when {{ n }} > 0 then
        ({{ p }} + {{ z }} * {{ z }} / (2.0 * {{ n }})
         - {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})))
        / (1 + {{ z }} * {{ z }} / {{ n }}) end
{%- endmacro %}

{% macro wilson_high(x, n, z=none) -%}
    {%- set z = z or wilson_z95() -%}
    {%- set p = '(cast(' ~ x ~ ' as ' ~ type_double() ~ ') / ' ~ n ~ ')' -%}
    case when {{ n }} > 0 and {{ x }} = {{ n }} then cast(1 as {{ type_double() }})
         when {{ n }} > 0 then
        ({{ p }} + {{ z }} * {{ z }} / (2.0 * {{ n }})
         + {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})))
        / (1 + {{ z }} * {{ z }} / {{ n }}) end
{%- endmacro %}

{#-
  stat_erfc(x): the complementary error function for x >= 0, Chebyshev approximation with fractional error below
  1.2e-7 everywhere (Numerical Recipes, erfcc). Used for the p-value of a 1-df chi-square statistic:
  p = erfc(sqrt(chi2 / 2)).
-#}
{% macro stat_erfc(x) -%}
    (1.0 / (1.0 + 0.5 * ({{ x }})))
    * exp(-({{ x }}) * ({{ x }}) - 1.26551223 + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (1.00002368
      + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (0.37409196 + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (0.09678418
      + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (-0.18628806 + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (0.27886807
      + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (-1.13520398 + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (1.48851587
      + (1.0 / (1.0 + 0.5 * ({{ x }}))) * (-0.82215223 + (1.0 / (1.0 + 0.5 * ({{ x }}))) * 0.17087277)))))))))
{%- endmacro %}

{#- p-value of a chi-square statistic with 1 degree of freedom (null for a null statistic). -#}
{% macro chi2_1df_p(chi2) -%}
    case when {{ chi2 }} is not null then {{ stat_erfc('sqrt((' ~ chi2 ~ ') / 2.0)') }} end
{%- endmacro %}

{#-
  stat_integers(max_value): a relation (subquery body) with one column `k` = 0, 1, ..., 99999 (five cross-joined
  digit tables), filtered to k <= max_value (an SQL expression or number). Portable: no generate_series.
-#}
{% macro stat_integers(max_value=99999) -%}
    {%- set digits = "select 0 as d union all select 1 union all select 2 union all select 3 union all select 4 union all select 5 union all select 6 union all select 7 union all select 8 union all select 9" -%}
    select cast(d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d as {{ dbt.type_bigint() }}) as k
    from ({{ digits }}) as d1
    cross join ({{ digits }}) as d2
    cross join ({{ digits }}) as d3
    cross join ({{ digits }}) as d4
    cross join ({{ digits }}) as d5
    where d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d <= {{ max_value }}
{%- endmacro %}
