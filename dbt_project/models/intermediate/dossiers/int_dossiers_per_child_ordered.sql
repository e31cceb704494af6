-- Dossiers of the latest extract per child in registration order, with the neighbouring dossiers of
-- the same child that define reopening and re-entry (SPEC 5):
--   next_registration_after_closure: earliest registration_date of another dossier of the child that
--     is strictly after this dossier's closure_date (a registration on the closure day does not count);
--   previous_closure_date: latest closure_date of another dossier of the child strictly before this
--     dossier's registration_date.
-- Days are calendar-day differences (dbt.datediff), whatever the engine.
with dossiers as (
    select * from {{ ref('int_dossiers_latest') }}
),

next_registration as (
    select
        closed.dossier_key,
        min(other.registration_date) as next_registration_after_closure
    from dossiers as closed
    inner join dossiers as other
        on other.child_key = closed.child_key
        and other.dossier_key <> closed.dossier_key
        and other.registration_date > closed.closure_date
    where closed.closure_date is not null
    group by closed.dossier_key
),

previous_closure as (
    select
        later.dossier_key,
        max(other.closure_date) as previous_closure_date
    from dossiers as later
    inner join dossiers as other
        on other.child_key = later.child_key
        and other.dossier_key <> later.dossier_key
        and other.closure_date < later.registration_date
    group by later.dossier_key
)

select
    d.dossier_key,
    d.child_key,
    d.service,
    d.region,
    d.team_key,
    d.team,
    d.registration_date,
    d.closure_date,
    d.closure_reason,
    d.birth_year,
    d.sex,
    d.as_of_date,
    -- bigint on every engine: row_number() and datediff give an int on Spark, a bigint on DuckDB (SPEC 7)
    cast(row_number() over (
        partition by d.child_key order by d.registration_date, d.dossier_key
    ) as {{ dbt.type_bigint() }}) as child_dossier_seq,
    cast(count(*) over (partition by d.child_key) as {{ dbt.type_bigint() }}) as child_n_dossiers,
    n.next_registration_after_closure,
    cast({{ dbt.datediff('d.closure_date', 'n.next_registration_after_closure', 'day') }} as {{ dbt.type_bigint() }})
        as days_closure_to_next_registration,
    p.previous_closure_date,
    cast({{ dbt.datediff('p.previous_closure_date', 'd.registration_date', 'day') }} as {{ dbt.type_bigint() }})
        as days_since_previous_closure
from dossiers as d
left join next_registration as n
    on n.dossier_key = d.dossier_key
left join previous_closure as p
    on p.dossier_key = d.dossier_key
