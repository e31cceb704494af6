-- marts.practice_breadth: quarter x region x team x SofS step (SPEC 4, 5 "Breadth of practice per quarter"), from
-- the extract history (raw.dossier_extracts and the version tables, SPEC 4).
-- Quarters: every calendar quarter whose end date Q lies between the earliest and the latest loaded extract date
-- (both included). The state at Q is read from the first loaded extract dated on or after Q
-- (observed_extract_date), as study follow-ups are (SPEC 9.1): an extract loaded later that revises history never
-- changes an earlier quarter (retracting that extract, or loading an earlier-dated one that becomes the first on or
-- after Q, does).
--   n_open           dossiers of that extract with registration_date <= Q and (no closure_date or closure_date > Q)
--                    (a dossier closed on Q is not open at Q)
--   n_with_step      of those, dossiers with at least one practice event of event_type in that extract dated <= Q
--                    (any time in the dossier up to Q; an event after Q does not count)
--   share_with_step  n_with_step / n_open (proportion 0-1), with its Wilson 95 % interval (macros/statistics/wilson.sql)
-- event_type: every code of var practice_event_types (the SPEC 3.4 list), also a step nobody recorded (n_with_step 0).
-- Rows: every region x team with an open dossier at Q, team = 'all' per region, and region = team = 'all' (teams
-- lie within one region, as in marts.practice_depth: no region 'all' x team row); team is the published label of the
-- dossier's version in that extract, 'unknown' without one. So every 'all' row is the sum of its detail rows, and
-- n_open is the same on the rows of one quarter x region x team. Counts bigint, shares double, unrounded.
{%- set s = dbt.type_string() %}
{%- set b = dbt.type_bigint() %}
{%- set f = type_double() %}

with extracts as (
    select extract_date from {{ ref('stg_dossiers__extracts') }}
),

bounds as (
    select
        min(extract_date) as first_extract,
        max(extract_date) as last_extract,
        cast({{ dbt.date_trunc('quarter', 'min(extract_date)') }} as date) as first_quarter_start,
        -- enough quarters to reach the latest extract's (the where clause of quarters cuts the rest)
        cast(4 * (extract(year from max(extract_date)) - extract(year from min(extract_date))) + 3 as {{ b }})
            as max_k
    from extracts
),

-- quarter k (0 = the quarter of the earliest extract) ends the day before quarter k + 1 starts
quarter_ends as (
    select
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', '3 * i.k + 3', 'bo.first_quarter_start')) }} as date)
            as quarter_end,
        bo.first_extract,
        bo.last_extract
    from bounds as bo
    inner join ({{ stat_integers() }}) as i
        on i.k <= bo.max_k
),

quarters as (
    select
        q.quarter_end,
        min(x.extract_date) as observed_extract_date
    from quarter_ends as q
    inner join extracts as x
        on x.extract_date >= q.quarter_end
    where q.quarter_end >= q.first_extract and q.quarter_end <= q.last_extract
    group by q.quarter_end
),

open_dossiers as (
    select
        q.quarter_end,
        q.observed_extract_date,
        d.dossier_key,
        d.region,
        coalesce(d.team, 'unknown') as team
    from quarters as q
    inner join {{ ref('stg_dossiers__dossiers') }} as d
        on {{ valid_in_extract('d', 'q.observed_extract_date') }}
    where d.registration_date <= q.quarter_end
        and (d.closure_date is null or d.closure_date > q.quarter_end)
),

steps_by_then as (
    select distinct
        o.quarter_end,
        o.dossier_key,
        e.event_type
    from open_dossiers as o
    inner join {{ ref('stg_dossiers__practice_events') }} as e
        on e.dossier_key = o.dossier_key
        and {{ valid_in_extract('e', 'o.observed_extract_date') }}
    where e.event_date <= o.quarter_end
),

event_types as (
    {%- for t in var('practice_event_types') %}
    select cast('{{ t }}' as {{ s }}) as event_type{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

levels as (
    select true as by_region, true as by_team
    union all select true as by_region, false as by_team
    union all select false as by_region, false as by_team
),

-- every open dossier x quarter once per level it counts in
placed as (
    select
        o.quarter_end,
        o.observed_extract_date,
        o.dossier_key,
        case when l.by_region then o.region else 'all' end as region,
        case when l.by_team then o.team else 'all' end as team
    from open_dossiers as o
    cross join levels as l
),

open_cells as (
    select quarter_end, observed_extract_date, region, team, count(*) as n_open
    from placed
    group by quarter_end, observed_extract_date, region, team
),

step_cells as (
    select p.quarter_end, p.region, p.team, st.event_type, count(*) as n_with_step
    from placed as p
    inner join steps_by_then as st
        on st.quarter_end = p.quarter_end and st.dossier_key = p.dossier_key
    group by p.quarter_end, p.region, p.team, st.event_type
),

cells as (
    select
        o.quarter_end,
        o.observed_extract_date,
        o.region,
        o.team,
        t.event_type,
        o.n_open,
        coalesce(sc.n_with_step, 0) as n_with_step
    from open_cells as o
    cross join event_types as t
    left join step_cells as sc
        on sc.quarter_end = o.quarter_end and sc.region = o.region and sc.team = o.team
        and sc.event_type = t.event_type
)

select
    {{ dbt.concat(["cast(extract(year from quarter_end) as " ~ s ~ ")", "'-Q'",
                   "cast(cast(extract(month from quarter_end) / 3 as " ~ dbt.type_int() ~ ") as " ~ s ~ ")"]) }}
        as quarter,
    quarter_end,
    observed_extract_date,
    cast(region as {{ s }}) as region,
    cast(team as {{ s }}) as team,
    cast(event_type as {{ s }}) as event_type,
    cast(n_open as {{ b }}) as n_open,
    cast(n_with_step as {{ b }}) as n_with_step,
    cast(n_with_step as {{ f }}) / n_open as share_with_step,
    {{ wilson_low('n_with_step', 'n_open') }} as share_with_step_ci_low,
    {{ wilson_high('n_with_step', 'n_open') }} as share_with_step_ci_high
from cells
