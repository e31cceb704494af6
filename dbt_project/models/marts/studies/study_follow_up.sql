-- marts.study_follow_up: one row per study x enrolled dossier x follow-up month (SPEC 9.1).
-- The state at a follow-up point is read from the first extract dated on or after the follow-up date
-- (observed_extract_date), so a later extract that revises history never changes a recorded follow-up:
--   status        not_yet_due (no such extract loaded yet), lost (the dossier is absent from that extract),
--                 observed (present);
--   is_closed     the dossier's closure_date in that extract is on or before the follow-up date (a closure dated
--                 after the follow-up date is not yet a closure); closure_date that date, else null;
--   n_placements_started  placements of the dossier in that extract with start_date <= follow_up_date;
--   placed        n_placements_started > 0;
--   reopened      closed by the follow-up date and the same child has another dossier in that extract registered
--                 after the closure and on or before the follow-up date (false when not closed);
--   n_client_feedback / n_child_feedback  complete feedback responses of population client / child linked to
--                 the dossier with a response date within +-feedback_window_days of the follow-up date
--                 (int_study_feedback_responses; null while not yet due). Construct means: study_follow_up_feedback.
-- State columns are null unless status = 'observed'.
{%- set s = dbt.type_string() %}
-- The dossier-side relations are read through ref_or_empty: a survey-only build (source:raw_surveys+)
-- selects this model but not the dossier side, which may not exist yet.
with points as (
    select * from {{ ref_or_empty('int_study_follow_up_points', [
        ['study', s], ['dossier_key', s], ['child_key', s], ['registration_date', 'date'],
        ['follow_up_month', dbt.type_int()], ['follow_up_date', 'date'], ['feedback_window_days', dbt.type_int()],
        ['observed_extract_date', 'date']]) }} as p
),

versions as (
    select * from {{ ref_or_empty('stg_dossiers__dossiers', [
        ['dossier_key', s], ['child_key', s], ['registration_date', 'date'], ['closure_date', 'date'],
        ['valid_from', 'date'], ['valid_to', 'date']]) }} as v
),

state as (
    select
        p.study,
        p.dossier_key,
        p.follow_up_month,
        v.child_key,
        v.closure_date as closure_date_in_extract
    from points as p
    inner join versions as v
        on v.dossier_key = p.dossier_key
        and {{ valid_in_extract('v', 'p.observed_extract_date') }}
),

placements as (
    select
        p.study,
        p.dossier_key,
        p.follow_up_month,
        count(*) as n_placements_started
    from points as p
    inner join {{ ref_or_empty('stg_dossiers__placements', [
        ['dossier_key', s], ['start_date', 'date'], ['valid_from', 'date'], ['valid_to', 'date']]) }} as pl
        on pl.dossier_key = p.dossier_key
        and {{ valid_in_extract('pl', 'p.observed_extract_date') }}
    where pl.start_date <= p.follow_up_date
    group by p.study, p.dossier_key, p.follow_up_month
),

reopenings as (
    select
        p.study,
        p.dossier_key,
        p.follow_up_month,
        count(*) as n_later_dossiers
    from points as p
    inner join state as s
        on s.study = p.study and s.dossier_key = p.dossier_key and s.follow_up_month = p.follow_up_month
    inner join versions as o
        on o.child_key = s.child_key
        and o.dossier_key <> p.dossier_key
        and {{ valid_in_extract('o', 'p.observed_extract_date') }}
    where s.closure_date_in_extract <= p.follow_up_date
        and o.registration_date > s.closure_date_in_extract
        and o.registration_date <= p.follow_up_date
    group by p.study, p.dossier_key, p.follow_up_month
),

feedback as (
    select
        study,
        dossier_key,
        follow_up_month,
        sum(case when population = 'client' then 1 else 0 end) as n_client_feedback,
        sum(case when population = 'child' then 1 else 0 end) as n_child_feedback
    from {{ ref('int_study_feedback_responses') }}
    group by study, dossier_key, follow_up_month
),

judged as (
    select
        p.*,
        case
            when p.observed_extract_date is null then 'not_yet_due'
            when s.dossier_key is null then 'lost'
            else 'observed'
        end as status,
        s.closure_date_in_extract,
        s.closure_date_in_extract is not null and s.closure_date_in_extract <= p.follow_up_date as closed_by_then
    from points as p
    left join state as s
        on s.study = p.study and s.dossier_key = p.dossier_key and s.follow_up_month = p.follow_up_month
)

select
    j.study,
    j.dossier_key,
    j.follow_up_month,
    j.follow_up_date,
    j.status,
    j.observed_extract_date,
    case when j.status = 'observed' then j.closed_by_then end as is_closed,
    case when j.status = 'observed' and j.closed_by_then then j.closure_date_in_extract end as closure_date,
    case when j.status = 'observed' then cast(coalesce(pl.n_placements_started, 0) as {{ dbt.type_bigint() }}) end
        as n_placements_started,
    case when j.status = 'observed' then coalesce(pl.n_placements_started, 0) > 0 end as placed,
    case when j.status = 'observed' then coalesce(r.n_later_dossiers, 0) > 0 end as reopened,
    case when j.status <> 'not_yet_due' then cast(coalesce(f.n_client_feedback, 0) as {{ dbt.type_bigint() }}) end
        as n_client_feedback,
    case when j.status <> 'not_yet_due' then cast(coalesce(f.n_child_feedback, 0) as {{ dbt.type_bigint() }}) end
        as n_child_feedback,
    -- additions
    j.child_key,
    j.registration_date,
    cast({{ dbt.datediff('j.follow_up_date', 'j.observed_extract_date', 'day') }} as {{ dbt.type_bigint() }})
        as days_follow_up_to_extract
from judged as j
left join placements as pl
    on pl.study = j.study and pl.dossier_key = j.dossier_key and pl.follow_up_month = j.follow_up_month
left join reopenings as r
    on r.study = j.study and r.dossier_key = j.dossier_key and r.follow_up_month = j.follow_up_month
left join feedback as f
    on f.study = j.study and f.dossier_key = j.dossier_key and f.follow_up_month = j.follow_up_month
