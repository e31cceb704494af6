-- marts.unit_comparison_by_label (SPEC 9.3): the margins reporting.unit_comparison declares to the disclosure audit
-- hold (orchestration/disclosure/tables.py, unit_comparison): per indicator x region x period, team 'all' = the sum of
-- the region's team rows; per indicator x region x team, period 'all' = the sum of the years (n and observed). Fails
-- per margin row where one does not hold or the 'all' row is missing.
with u as (
    select * from {{ ref('unit_comparison_by_label') }}
),

detail as (
    select indicator, region, 'all' as team, period, sum(n) as n, sum(observed) as observed
    from u
    where team <> 'all'
    group by indicator, region, period
    union all
    select indicator, region, team, 'all' as period, sum(n) as n, sum(observed) as observed
    from u
    where period <> 'all'
    group by indicator, region, team
)

select d.indicator, d.region, d.team, d.period
from detail as d
left join u as a
    on a.indicator = d.indicator and a.region = d.region and a.team = d.team and a.period = d.period
where a.indicator is null or a.n <> d.n or a.observed <> d.observed
