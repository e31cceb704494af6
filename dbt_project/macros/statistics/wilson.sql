{#-
  Interval and test statistics as portable SQL expressions (SPEC 9; SPEC 7: no engine-specific functions).

  wilson_low(x, n, z) / wilson_high(x, n, z): the Wilson score interval of a proportion x / n (x, n counts),
  z the normal quantile (default 1.959963984540054, a 95 % interval):
      (p + z^2 / 2n -/+ z * sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n),  p = x / n;
  the same as statsmodels' proportion_confint(x, n, method="wilson"). Null when n is 0 or null.
-#}
{% macro wilson_z95() -%}1.959963984540054{%- endmacro %}

{% macro wilson_low(x, n, z=none) -%}
    {%- set z = z or wilson_z95() -%}
    {%- set p = '(cast(' ~ x ~ ' as ' ~ outcome_type_double() ~ ') / ' ~ n ~ ')' -%}
    case when {{ n }} > 0 then
        ({{ p }} + {{ z }} * {{ z }} / (2.0 * {{ n }})
         - {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})))
        / (1 + {{ z }} * {{ z }} / {{ n }}) end
{%- endmacro %}

{% macro wilson_high(x, n, z=none) -%}
    {%- set z = z or wilson_z95() -%}
    {%- set p = '(cast(' ~ x ~ ' as ' ~ outcome_type_double() ~ ') / ' ~ n ~ ')' -%}
    case when {{ n }} > 0 then
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
