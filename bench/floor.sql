-- The floor of the benchmarks (bench/run_bench.py, bench/run_history.py): the four dossier marts of SPEC 4 with the definitions
-- of SPEC 5, as plain DuckDB SQL straight over the extract's CSV files. No pseudonymisation, no
-- quality checks, no staging layers, no audit, no orchestration: what a hand-written script costs.
--
-- Variables (DuckDB SET VARIABLE; bench/run_floor.py sets them):
--   extract_dir  folder holding dossiers.csv, placements.csv, practice_events.csv
--   as_of_date   the extract date (YYYY-MM-DD)
-- The marts are created as tables in the database the script runs in (a file, like the warehouse).
--
--   duckdb floor.duckdb -c "set variable extract_dir = '.../2025-12-31'; set variable as_of_date = '2025-12-31'" -f bench/floor.sql

create or replace temp table dossiers as
select dossier_id, child_id, service, region, team, registration_date, closure_date,
       getvariable('as_of_date')::date as as_of_date
from read_csv(getvariable('extract_dir') || '/dossiers.csv', header = true,
              types = {'registration_date': 'DATE', 'closure_date': 'DATE'});

create or replace temp table placements as
select placement_id, dossier_id, start_date, end_date
from read_csv(getvariable('extract_dir') || '/placements.csv', header = true,
              types = {'start_date': 'DATE', 'end_date': 'DATE'});

-- rowid of this table = file order (insertion order is preserved): the tie-break of scaling scores
create or replace temp table events as
select event_id, dossier_id, event_date, event_type, value, rated_by
from read_csv(getvariable('extract_dir') || '/practice_events.csv', header = true,
              types = {'event_date': 'DATE', 'value': 'DOUBLE'});

-- marts.fct_dossier: one row per dossier -------------------------------------------------------
create or replace table fct_dossier as
with next_registration as (   -- earliest registration of another dossier of the child after this closure
    select c.dossier_id, min(o.registration_date) as next_registration
    from dossiers c
    join dossiers o on o.child_id = c.child_id and o.dossier_id <> c.dossier_id
                   and o.registration_date > c.closure_date
    group by c.dossier_id
),
previous_closure as (         -- latest closure of another dossier of the child before this registration
    select l.dossier_id, max(o.closure_date) as previous_closure
    from dossiers l
    join dossiers o on o.child_id = l.child_id and o.dossier_id <> l.dossier_id
                   and o.closure_date < l.registration_date
    group by l.dossier_id
),
placed as (
    select p.dossier_id,
           count(*) as n_placements,
           count(*) - 1 as placement_moves,                       -- every spell after the first
           sum(coalesce(p.end_date, d.as_of_date) - p.start_date) as placement_days,
           min(p.start_date) as first_placement_start,
           count_if(p.start_date - d.registration_date between 0 and 365) as n_started_within_365d
    from placements p
    join dossiers d using (dossier_id)
    group by p.dossier_id
),
practice as (
    select dossier_id,
           count(*) as n_practice_events,
           bool_or(event_type = 'mapping') as has_mapping,
           bool_or(event_type = 'safety_plan') as has_safety_plan,
           bool_or(event_type = 'network_meeting') as has_network_meeting,
           bool_or(event_type = 'three_houses') as has_three_houses,
           bool_or(event_type = 'words_and_pictures') as has_words_and_pictures,
           arg_min(value, (event_date, rowid))
               filter (where event_type = 'scaling_question' and rated_by = 'worker' and value is not null)
               as first_scaling_score,
           arg_max(value, (event_date, rowid))
               filter (where event_type = 'scaling_question' and rated_by = 'worker' and value is not null)
               as last_scaling_score
    from events
    group by dossier_id
)
select d.dossier_id, d.child_id, d.service, d.region, d.team, d.registration_date, d.closure_date,
       d.as_of_date,
       d.closure_date is not null as is_closed,
       d.closure_date - d.registration_date as days_to_closure,
       coalesce(d.closure_date, d.as_of_date) - d.registration_date as follow_up_days,
       year(d.registration_date) as registration_year,
       year(d.closure_date) as closure_year,
       coalesce(d.registration_date - pc.previous_closure <= 365, false) as is_reentry,
       coalesce(p.n_placements, 0) as n_placements,
       case when p.n_started_within_365d > 0 then true
            when d.as_of_date - d.registration_date >= 365 then false end as placed_within_365d,
       p.first_placement_start - d.registration_date as days_to_first_placement,
       case when d.closure_date is null then null
            when nr.next_registration - d.closure_date <= 365 then true
            when d.as_of_date - d.closure_date >= 365 then false end as reopened_within_365d,
       coalesce(e.has_mapping, false) as has_mapping,
       coalesce(e.has_safety_plan, false) as has_safety_plan,
       coalesce(e.has_network_meeting, false) as has_network_meeting,
       coalesce(e.has_three_houses, false) as has_three_houses,
       coalesce(e.has_words_and_pictures, false) as has_words_and_pictures,
       e.first_scaling_score,
       e.last_scaling_score,
       coalesce(p.placement_moves, 0) as placement_moves,
       coalesce(p.placement_days, 0) as placement_days,
       coalesce(e.n_practice_events, 0) as n_practice_events
from dossiers d
left join next_registration nr using (dossier_id)
left join previous_closure pc using (dossier_id)
left join placed p using (dossier_id)
left join practice e using (dossier_id);

-- marts.outcome_time_to_closure: Kaplan-Meier per registration_year x service x region ('all' margins)
create or replace table outcome_time_to_closure as
with times as (               -- closures (events) and exits (events + censored) per cell and time
    select coalesce(registration_year::varchar, 'all') as registration_year,
           coalesce(service, 'all') as service, coalesce(region, 'all') as region,
           case when is_closed then days_to_closure else follow_up_days end as t,
           count_if(is_closed) as d,
           count(*) as n_leaving
    from fct_dossier
    group by cube (registration_year, service, region), t
),
curve as (                    -- S(t) = product over event times <= t of (1 - d / at risk)
    select *,
           product(1 - d / at_risk) over (partition by registration_year, service, region order by t) as s
    from (select *, sum(n_leaving) over (partition by registration_year, service, region order by t desc)
                        as at_risk
          from times)
),
km as (
    select registration_year, service, region,
           sum(n_leaving) as n_dossiers,
           sum(d) as n_closed,
           min(t) filter (where d > 0 and s <= 0.75 + 1e-9) as km_p25_days,
           min(t) filter (where d > 0 and s <= 0.50 + 1e-9) as km_median_days,
           min(t) filter (where d > 0 and s <= 0.25 + 1e-9) as km_p75_days,
           -- 1 - S(365); null when nobody was followed 365 days and the curve never reached 0
           case when max(t) >= 365 or min(s) = 0
                then 1 - coalesce(min(s) filter (where t <= 365), 1) end as km_closed_within_365d
    from curve
    group by registration_year, service, region
),
naive as (
    select coalesce(registration_year::varchar, 'all') as registration_year,
           coalesce(service, 'all') as service, coalesce(region, 'all') as region,
           quantile_cont(days_to_closure, 0.5) as naive_median_closed_days
    from fct_dossier
    where is_closed
    group by cube (registration_year, service, region)
)
select k.registration_year, k.service, k.region, k.n_dossiers, k.n_closed,
       k.n_dossiers - k.n_closed as n_censored,
       k.km_median_days, k.km_p25_days, k.km_p75_days, k.km_closed_within_365d,
       n.naive_median_closed_days
from km k
left join naive n using (registration_year, service, region);

-- marts.outcome_reopening: closed dossiers per closure_year x service x region ('all' margins).
-- Rates count complete windows only (SPEC 5): the whole 365 days after the closure lie on or before
-- the extract date; a reopening that already happened in a running window counts in no rate.
create or replace table outcome_reopening as
select coalesce(closure_year::varchar, 'all') as closure_year,
       coalesce(service, 'all') as service, coalesce(region, 'all') as region,
       count_if(as_of_date - closure_date >= 365) as n_observable,
       count_if(as_of_date - closure_date >= 365 and reopened_within_365d) as n_reopened_365d,
       case when count_if(as_of_date - closure_date >= 365) > 0
            then count_if(as_of_date - closure_date >= 365 and reopened_within_365d)
                 / count_if(as_of_date - closure_date >= 365) end as reopening_rate,
       count(*) as n_closed
from fct_dossier
where is_closed
group by cube (closure_year, service, region);

-- marts.outcome_placement: per registration_year x service x region ('all' margins); complete
-- windows only (SPEC 5): registration_date + 365 on or before the extract date
create or replace table outcome_placement as
select coalesce(registration_year::varchar, 'all') as registration_year,
       coalesce(service, 'all') as service, coalesce(region, 'all') as region,
       count_if(as_of_date - registration_date >= 365) as n_observable,
       count_if(as_of_date - registration_date >= 365 and placed_within_365d) as n_placed_365d,
       case when count_if(as_of_date - registration_date >= 365) > 0
            then count_if(as_of_date - registration_date >= 365 and placed_within_365d)
                 / count_if(as_of_date - registration_date >= 365) end as placement_rate,
       sum(placement_days) as placement_days,
       sum(placement_moves) as placement_moves,
       case when sum(placement_days) > 0 then 1000 * sum(placement_moves) / sum(placement_days) end
           as moves_per_1000_days,
       count(*) as n_dossiers
from fct_dossier
group by cube (registration_year, service, region);
