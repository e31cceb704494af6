-- marts.practice_depth: region x team x period (SPEC 4, 5), the depth of Signs of Safety practice
-- from the case audits (marts.fct_case_audit) beside the breadth the case system records. Rows: every
-- region x team with an audited dossier in the period, team = 'all' per region, and region = team =
-- 'all' per period (teams belong to one region, so there is no region 'all' x team row). A dossier
-- not in the latest extract counts under region and team 'unknown', a team without a published label
-- under team 'unknown'; so every 'all' row is the sum of its detail rows.
-- Unit: the dossier audited in the period. Only audits with a depth score and a first response per
-- auditor count (fct_case_audit.rater_seq not null). A dossier's depth in the period is the mean of its
-- auditors' depth scores (a double-audited dossier counts once).
--   n_audited               dossiers audited in the cell
--   n_meeting_standard      of those, dossier depth >= var audit_standard (default 3.0)
--   mean_depth              mean dossier depth; share_meeting_standard = n_meeting_standard / n_audited
--   n_double_audited        dossiers scored by two (or more) auditors in the period
--   kappa                   quadratic-weighted Cohen's kappa over the rubric items of the double-audited
--                           dossiers: pairs (first auditor's value_scored, second auditor's) of every item
--                           both scored, first and second by submit time then response key (rater_seq 1, 2),
--                           pooled over the cell's dossiers and items; weights (a - b)^2 on the 0-4 values:
--                           kappa = 1 - mean((a - b)^2) / (mean(a^2) + mean(b^2) - 2 mean(a) mean(b)).
--                           Equals scikit-learn's cohen_kappa_score(a, b, weights='quadratic', labels=0..4).
--   icc                     ICC(1,1), one-way random effects, single rater, absolute agreement, on the
--                           depth scores of the first and second auditor (k = 2, n = n_double_audited):
--                           (MSB - MSW) / (MSB + MSW), MSB = 2 sum (m_i - m)^2 / (n - 1),
--                           MSW = sum (x_i1 - x_i2)^2 / (2 n). One-way because the auditors of a dossier
--                           are drawn from a panel (no fixed first or second rater). pingouin's ICC(1,1).
--   n_rating_pairs          the item pairs kappa is computed over
-- kappa is null without a pair or when the expected disagreement is 0; icc with fewer than 2 double-audited
-- dossiers or when MSB + MSW is 0. Floats unrounded.
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = type_double() %}

with audits as (
    select dossier_key, period, response_key, rater_seq, depth_score, region, team
    from {{ ref('fct_case_audit') }}
    where rater_seq is not null
),

ratings as (
    select response_key, item, value_scored
    from {{ ref_or_empty('int_case_audit_ratings', [
        ['response_key', s], ['item', s], ['value_scored', f]]) }} as r
),

levels as (
    select true as by_region, true as by_team
    union all select true as by_region, false as by_team
    union all select false as by_region, false as by_team
),

dossier_period as (
    select
        dossier_key,
        period,
        coalesce(max(region), 'unknown') as region,
        coalesce(max(team), 'unknown') as team,
        avg(depth_score) as dossier_depth,
        count(*) as n_raters
    from audits
    group by dossier_key, period
),

pairs as (
    select
        a1.dossier_key,
        a1.period,
        a1.response_key as response_1,
        a2.response_key as response_2,
        a1.depth_score as x1,
        a2.depth_score as x2
    from audits as a1
    inner join audits as a2
        on a2.dossier_key = a1.dossier_key and a2.period = a1.period and a2.rater_seq = 2
    where a1.rater_seq = 1
),

item_pairs as (
    select
        p.dossier_key,
        p.period,
        r1.value_scored as a,
        r2.value_scored as b
    from pairs as p
    inner join ratings as r1
        on r1.response_key = p.response_1
    inner join ratings as r2
        on r2.response_key = p.response_2 and r2.item = r1.item
    where r1.value_scored is not null and r2.value_scored is not null
),

-- every dossier x period once per level it counts in
placed as (
    select
        d.dossier_key,
        d.period,
        case when l.by_region then d.region else 'all' end as region,
        case when l.by_team then d.team else 'all' end as team,
        d.dossier_depth,
        d.n_raters
    from dossier_period as d
    cross join levels as l
),

cells as (
    select
        region,
        team,
        period,
        count(*) as n_audited,
        sum(case when dossier_depth >= {{ var('audit_standard') }} then 1 else 0 end) as n_meeting_standard,
        avg(dossier_depth) as mean_depth,
        sum(case when n_raters >= 2 then 1 else 0 end) as n_double_audited
    from placed
    group by region, team, period
),

pair_cells as (
    select
        pl.region,
        pl.team,
        pl.period,
        p.x1,
        p.x2
    from pairs as p
    inner join placed as pl
        on pl.dossier_key = p.dossier_key and pl.period = p.period
),

icc_means as (
    select region, team, period, count(*) as n_pairs, avg((x1 + x2) / 2) as grand_mean
    from pair_cells
    group by region, team, period
),

icc_parts as (
    select
        c.region,
        c.team,
        c.period,
        max(m.n_pairs) as n_pairs,
        2 * sum(((c.x1 + c.x2) / 2 - m.grand_mean) * ((c.x1 + c.x2) / 2 - m.grand_mean)) as ss_between,
        sum((c.x1 - c.x2) * (c.x1 - c.x2)) / 2 as ss_within
    from pair_cells as c
    inner join icc_means as m
        on m.region = c.region and m.team = c.team and m.period = c.period
    group by c.region, c.team, c.period
),

icc as (
    select
        region,
        team,
        period,
        case when n_pairs >= 2 then ss_between / (n_pairs - 1) end as msb,
        case when n_pairs >= 2 then ss_within / n_pairs end as msw
    from icc_parts
),

kappa_parts as (
    select
        pl.region,
        pl.team,
        pl.period,
        count(*) as n_rating_pairs,
        avg(ip.a) as mean_a,
        avg(ip.b) as mean_b,
        avg(ip.a * ip.a) as mean_a2,
        avg(ip.b * ip.b) as mean_b2,
        avg((ip.a - ip.b) * (ip.a - ip.b)) as mean_d2
    from item_pairs as ip
    inner join placed as pl
        on pl.dossier_key = ip.dossier_key and pl.period = ip.period
    group by pl.region, pl.team, pl.period
)

select
    cast(c.region as {{ s }}) as region,
    cast(c.team as {{ s }}) as team,
    cast(c.period as {{ s }}) as period,
    cast(c.n_audited as {{ b }}) as n_audited,
    cast(c.mean_depth as {{ f }}) as mean_depth,
    cast(c.n_meeting_standard as {{ f }}) / c.n_audited as share_meeting_standard,
    cast(c.n_double_audited as {{ b }}) as n_double_audited,
    cast(case
        when k.n_rating_pairs > 0 and (k.mean_a2 + k.mean_b2 - 2 * k.mean_a * k.mean_b) > 0
            then 1 - k.mean_d2 / (k.mean_a2 + k.mean_b2 - 2 * k.mean_a * k.mean_b)
    end as {{ f }}) as kappa,
    cast(case when i.msb + i.msw > 0 then (i.msb - i.msw) / (i.msb + i.msw) end as {{ f }}) as icc,
    cast(c.n_meeting_standard as {{ b }}) as n_meeting_standard,
    cast(coalesce(k.n_rating_pairs, 0) as {{ b }}) as n_rating_pairs
from cells as c
left join kappa_parts as k
    on k.region = c.region and k.team = c.team and k.period = c.period
left join icc as i
    on i.region = c.region and i.team = c.team and i.period = c.period
