{#- Generic tests used by the dossier models (no dbt_utils dependency: the project installs offline). -#}

{#- Fails for every combination of `combination` columns that occurs more than once. -#}
{% test outcome_unique_combination(model, combination, column_name=none) %}
select {{ combination | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Fails for every row where `expression` is not true (null counts as a failure). -#}
{% test outcome_expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
