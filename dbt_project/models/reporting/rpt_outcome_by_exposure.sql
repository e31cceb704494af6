-- reporting.outcome_by_exposure: marts.outcome_by_exposure under disclosure control (SPEC 6, 9.2).
-- Published rows: per exposure x exposed the overall row and the one-way margins (registration_year, service or
-- region set, the other two 'all'); the detail strata stay in marts (their small cells would withhold most of
-- the table). First pass: primary suppression of each count (0 < count < min_cell); the relations (margins along
-- the three dims, the complements n_landmark - n_window_complete, n_window_complete - n_placed_365d,
-- n_window_complete - n_reopened_365d, n_landmark - n_closed, the rates) are declared to the LP audit in
-- orchestration/disclosure/tables.py, which withholds more after the build. A rate and its Wilson interval are
-- withheld with its numerator or denominator, the Kaplan-Meier median, its CI and the log-rank test with
-- n_landmark or n_closed. The directly standardised rates are not published (they combine the detail strata's
-- rates, which could give a withheld stratum away): marts only.
{%- set counts = ['n_landmark', 'n_window_complete', 'n_placed_365d', 'n_reopened_365d', 'n_closed'] %}
{%- set s = dbt.type_string() %}
{%- set b = dbt.type_bigint() %}
{%- set f = type_double() %}
with mart as (
    -- empty while marts.outcome_by_exposure was never built (e.g. a reporting-only build on hand-made marts)
    select * from {{ ref_or_empty('outcome_by_exposure', [
        ['exposure', s], ['exposed', dbt.type_boolean()], ['registration_year', s], ['service', s], ['region', s],
        ['event_type', s], ['within_days', dbt.type_int()], ['n_landmark', b], ['n_window_complete', b],
        ['n_placed_365d', b], ['placement_rate', f], ['placement_rate_ci_low', f], ['placement_rate_ci_high', f],
        ['n_reopened_365d', b], ['reopening_rate', f], ['reopening_rate_ci_low', f], ['reopening_rate_ci_high', f],
        ['n_closed', b], ['km_median_days', b], ['km_median_ci_low', b], ['km_median_ci_high', b],
        ['logrank_chi2', f], ['logrank_p', f], ['caveat', s]]) }} as o
    where (case when registration_year = 'all' then 0 else 1 end)
        + (case when service = 'all' then 0 else 1 end)
        + (case when region = 'all' then 0 else 1 end) <= 1
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
    exposure,
    exposed,
    registration_year,
    service,
    region,
    event_type,
    within_days
    {%- for c in counts %},
    case when {{ c }}_hidden = 0 then {{ c }} end as {{ c }}
    {%- endfor %},
    {%- for rate, num in [('placement_rate', 'n_placed_365d'), ('reopening_rate', 'n_reopened_365d')] %}
    {%- for col in [rate, rate ~ '_ci_low', rate ~ '_ci_high'] %}
    case when {{ num }}_hidden = 0 and n_window_complete_hidden = 0 then {{ reporting_round(col) }} end as {{ col }},
    {%- endfor %}
    {%- endfor %}
    {%- for col in ['km_median_days', 'km_median_ci_low', 'km_median_ci_high'] %}
    case when n_landmark_hidden = 0 and n_closed_hidden = 0 then {{ col }} end as {{ col }},
    {%- endfor %}
    case when n_landmark_hidden = 0 and n_closed_hidden = 0 then {{ reporting_round('logrank_chi2') }} end as logrank_chi2,
    case when n_landmark_hidden = 0 and n_closed_hidden = 0 then {{ reporting_round('logrank_p') }} end as logrank_p,
    caveat
    {%- for c in counts %},
    {{ c }}_hidden = 1 as {{ c }}_suppressed
    {%- endfor %},
    {%- for c in counts %}
    {% if not loop.first %}+ {% endif %}{{ c }}_hidden
    {%- endfor %} > 0 as suppressed
from flagged
