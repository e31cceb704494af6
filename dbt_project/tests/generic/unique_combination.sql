{#- unique_combination(model, columns): fails for every combination of the `columns` that occurs in more than one
    row (dbt_utils' unique_combination_of_columns, written out because dbt packages cannot be installed offline). -#}
{% test unique_combination(model, columns, column_name=none) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
