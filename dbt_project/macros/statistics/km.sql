{#-
  km_steps(input, groups, prefix): a chain of CTEs (to be placed inside a `with` clause, followed by a comma)
  computing the Kaplan-Meier step function per group, with Greenwood's variance and log-log ("exponential
  Greenwood") 95 % bands, as lifelines' KaplanMeierFitter computes them (SPEC 9).

  input: a relation with the `groups` columns plus km_time (days, >= 0), n_events and n_leaving (subjects whose
         time is km_time, and how many of them had the event; several rows per time are summed).
  output `<prefix>_curve`: groups, km_time, n_at_risk, n_events, n_censored, survival S(t) (product-limit),
         greenwood = sum over event times <= t of d / (n (n - d)), ci_low, ci_high:
            with v = ln S(t) < 0, c = z * sqrt(greenwood) / v (z = 1.959963984540054):
            ci_low = exp(-exp(ln(-v) - c)), ci_high = exp(-exp(ln(-v) + c));
         1 while S = 1 (no event yet); 0 once S = 0 (then the variance is undefined and the bands are 0).
  Every distinct time of the group is a row (censoring times too); the bands change only at event times.
-#}
{% macro km_steps(input, groups, prefix) -%}
    {%- set part = 'partition by ' ~ (groups | join(', ')) if groups else '' -%}
    {%- set dbl = type_double() -%}
{{ prefix }}_times as (
    select
        {% for g in groups %}{{ g }}, {% endfor %}
        km_time,
        sum(n_events) as n_events,
        sum(n_leaving) as n_leaving
    from {{ input }}
    group by {% for g in groups %}{{ g }}, {% endfor %}km_time
),

{{ prefix }}_risk as (
    select
        t.*,
        sum(n_leaving) over ({{ part }} order by km_time desc rows between unbounded preceding and current row) as n_at_risk
    from {{ prefix }}_times as t
),

{{ prefix }}_terms as (
    select
        r.*,
        case when n_events > 0 and n_events < n_at_risk
             then {{ natural_log('1 - cast(n_events as ' ~ dbl ~ ') / n_at_risk') }} else 0 end as log_factor,
        case when n_events > 0 and n_events = n_at_risk then 1 else 0 end as reaches_zero,
        case when n_events > 0 and n_events < n_at_risk
             then cast(n_events as {{ dbl }}) / (cast(n_at_risk as {{ dbl }}) * (n_at_risk - n_events)) else 0 end as greenwood_term
    from {{ prefix }}_risk as r
),

{{ prefix }}_cum as (
    select
        {% for g in groups %}{{ g }}, {% endfor %}
        km_time,
        n_at_risk,
        n_events,
        n_leaving - n_events as n_censored,
        sum(log_factor) over ({{ part }} order by km_time rows between unbounded preceding and current row) as log_survival,
        max(reaches_zero) over ({{ part }} order by km_time rows between unbounded preceding and current row) as is_zero,
        sum(greenwood_term) over ({{ part }} order by km_time rows between unbounded preceding and current row) as greenwood
    from {{ prefix }}_terms
),

{{ prefix }}_curve as (
    select
        {% for g in groups %}{{ g }}, {% endfor %}
        km_time,
        cast(n_at_risk as {{ dbt.type_bigint() }}) as n_at_risk,
        cast(n_events as {{ dbt.type_bigint() }}) as n_events,
        cast(n_censored as {{ dbt.type_bigint() }}) as n_censored,
        case when is_zero = 1 then cast(0 as {{ dbl }}) else {{ exponential('log_survival') }} end as survival,
        cast(greenwood as {{ dbl }}) as greenwood,
        case
            when is_zero = 1 then cast(0 as {{ dbl }})
            when log_survival = 0 then cast(1 as {{ dbl }})
            else {{ exponential('-' ~ exponential(natural_log('-log_survival') ~ ' - ' ~ wilson_z95() ~ ' * sqrt(greenwood) / log_survival')) }}
        end as ci_low,
        case
            when is_zero = 1 then cast(0 as {{ dbl }})
            when log_survival = 0 then cast(1 as {{ dbl }})
            else {{ exponential('-' ~ exponential(natural_log('-log_survival') ~ ' + ' ~ wilson_z95() ~ ' * sqrt(greenwood) / log_survival')) }}
        end as ci_high
    from {{ prefix }}_cum
)
{%- endmacro %}
