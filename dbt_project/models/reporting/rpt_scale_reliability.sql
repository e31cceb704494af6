-- reporting.scale_reliability: marts.scale_reliability under disclosure control (SPEC 6).
-- n_cases below min_cell is withheld and cronbach_alpha with it. No secondary suppression: the rows
-- (constructs) of one wave are the same respondents counted per scale, not parts of a total, so no
-- withheld n_cases follows from the others by subtraction. n_items (a number of questions) is shown.
with mart as (
    select * from {{ ref('scale_reliability') }}
),

flagged as (
    select
        mart.*,
        case when n_cases is not null and {{ reporting_is_small('n_cases') }} then 1 else 0 end as n_cases_hidden
    from mart
)

select
    instrument,
    wave,
    construct,
    case when n_cases_hidden = 0 then n_cases end as n_cases,
    n_items,
    case when n_cases_hidden = 0 then {{ reporting_round('cronbach_alpha') }} end as cronbach_alpha,
    n_cases_hidden = 1 as n_cases_suppressed,
    n_cases_hidden = 1 as suppressed,
    -- cast to the contract's types (a mart built elsewhere may carry other ones)
    cast(scheme_version as {{ type_bigint_sum() }}) as scheme_version,
    comparable_with_previous_wave,
    cast(not_comparable_reason as {{ dbt.type_string() }}) as not_comparable_reason
from flagged
