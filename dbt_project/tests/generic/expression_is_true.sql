{#- expression_is_true(model, expression): fails for every row where `expression` is not true (a null counts as a
    failure). A plain SQL condition over the model's columns; written out because dbt packages (dbt_utils) cannot
    be installed offline. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
