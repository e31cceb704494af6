-- The region = 'all' row of a year holds every region's dossiers and survey responses: its counts are
-- at least the sum of the region rows (equal for dossiers, which always have a region). Fails per year
-- where that does not hold.
with regions as (
    select
        year,
        sum(n_dossiers) as n_dossiers,
        sum(staff_n_responses) as staff_n_responses,
        sum(client_n_responses) as client_n_responses,
        sum(child_n_responses) as child_n_responses
    from {{ ref('region_period_outcomes') }}
    where region <> 'all'
    group by year
)

select r.year
from regions as r
left join {{ ref('region_period_outcomes') }} as a
    on a.year = r.year and a.region = 'all'
where a.year is null
    or a.n_dossiers <> r.n_dossiers
    or a.staff_n_responses < r.staff_n_responses
    or a.client_n_responses < r.client_n_responses
    or a.child_n_responses < r.child_n_responses
