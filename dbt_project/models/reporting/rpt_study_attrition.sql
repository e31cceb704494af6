-- reporting.study_attrition: marts.study_attrition under disclosure control (SPEC 6, 9.1).
-- First pass: primary suppression of every count (0 < count < min_cell is withheld, its <count>_suppressed
-- flag true). The relations a reader can combine (n_due = n_observed + n_lost; the complements
-- n_enrolled - n_due and n_due - n_with_*_feedback; n_enrolled equal in every month of a study) are declared to
-- the LP audit in orchestration/disclosure/tables.py, which withholds more after the build until every
-- withheld count is protected.
{%- set counts = ['n_enrolled', 'n_due', 'n_observed', 'n_lost', 'n_with_client_feedback', 'n_with_child_feedback'] %}
with mart as (
    -- empty while marts.study_attrition was never built (e.g. a reporting-only build on hand-made marts)
    select * from {{ ref_or_empty('study_attrition', [
        ['study', dbt.type_string()], ['follow_up_month', dbt.type_int()], ['n_enrolled', dbt.type_bigint()],
        ['n_due', dbt.type_bigint()], ['n_observed', dbt.type_bigint()], ['n_lost', dbt.type_bigint()],
        ['n_with_client_feedback', dbt.type_bigint()], ['n_with_child_feedback', dbt.type_bigint()]]) }} as a
),

flagged as (
    select
        mart.*
        {%- for c in counts %},
        case when {{ reporting_is_small(c) }} then 1 else 0 end as {{ c }}_hidden
        {%- endfor %}
    from mart
)

select
    study,
    follow_up_month
    {%- for c in counts %},
    case when {{ c }}_hidden = 0 then {{ c }} end as {{ c }}
    {%- endfor %}
    {%- for c in counts %},
    {{ c }}_hidden = 1 as {{ c }}_suppressed
    {%- endfor %},
    {%- for c in counts %}
    {% if not loop.first %}+ {% endif %}{{ c }}_hidden
    {%- endfor %} > 0 as suppressed
from flagged
