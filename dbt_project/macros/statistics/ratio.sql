{#- safe_ratio(numerator, denominator, scale=1): scale x numerator / denominator as a double, null when the
    denominator is 0 or null (the rates of SPEC 5). -#}
{% macro safe_ratio(numerator, denominator, scale=1) -%}
    case when {{ denominator }} > 0
         then {{ scale }} * cast({{ numerator }} as {{ type_double() }}) / {{ denominator }} end
{%- endmacro %}
