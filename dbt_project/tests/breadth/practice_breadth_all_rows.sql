-- marts.practice_breadth (SPEC 5 "Breadth of practice per quarter"): every 'all' row is the sum of its detail rows
-- (team 'all' = the region's teams, region 'all' = the regions' team-'all' rows) for n_open and n_with_step, and
-- n_open is the same on every event_type row of a quarter x region x team. Fails per quarter x region x team x
-- event_type where one of these does not hold (or an 'all' row is missing).
with b as (
    select * from {{ ref('practice_breadth') }}
),

detail as (
    select quarter, region, 'all' as team, event_type, sum(n_open) as n_open, sum(n_with_step) as n_with_step
    from b
    where region <> 'all' and team <> 'all'
    group by quarter, region, event_type
    union all
    select quarter, 'all' as region, 'all' as team, event_type, sum(n_open) as n_open, sum(n_with_step) as n_with_step
    from b
    where region <> 'all' and team = 'all'
    group by quarter, event_type
),

margins as (
    select d.quarter, d.region, d.team, d.event_type
    from detail as d
    left join b as a
        on a.quarter = d.quarter and a.region = d.region and a.team = d.team and a.event_type = d.event_type
    where a.quarter is null or a.n_open <> d.n_open or a.n_with_step <> d.n_with_step
),

constant_open as (
    select quarter, region, team, 'n_open varies' as event_type
    from b
    group by quarter, region, team
    having min(n_open) <> max(n_open)
)

select * from margins
union all
select * from constant_open
