-- Item crosswalk across waves (SPEC 3.3): per instrument x item x wave, the answer-scheme
-- version the wave was loaded with and whether its coding equals the previous wave's. The coding is what a
-- code means: codes -> values, the values, the missing codes (coding_fingerprint, recorded at load time);
-- labels are not part of it, so a labels-only change stays comparable. Waves loaded before the record
-- existed fall back to scheme_signature (values and labels). scheme_version counts coding changes, so rows
-- with the same (instrument, item, scheme_version) may be pooled and rows with different ones never.
with items as (
    select
        i.instrument,
        i.item,
        i.wave,
        w.wave_order,
        i.construct,
        i.scheme,
        i.scheme_signature,
        i.scheme_fingerprint,
        coalesce(i.coding_fingerprint, i.scheme_signature) as coding_key
    from {{ ref('stg_surveys__items') }} as i
    inner join {{ ref('int_survey_waves_ordered') }} as w on w.instrument = i.instrument and w.wave = i.wave
    where not i.is_text
),

lagged as (
    select
        items.*,
        lag(coding_key) over (partition by instrument, item order by wave_order) as previous_coding_key,
        lag(scheme) over (partition by instrument, item order by wave_order) as previous_scheme,
        lag(wave) over (partition by instrument, item order by wave_order) as previous_wave
    from items
)

select
    instrument,
    item,
    wave,
    wave_order,
    construct,
    scheme,
    scheme_signature,
    scheme_fingerprint,
    coding_key,
    previous_wave,
    previous_scheme,
    case when previous_coding_key is null then null else previous_coding_key = coding_key end
        as comparable_with_previous_wave,
    1 + sum(case when previous_coding_key is not null and previous_coding_key <> coding_key then 1 else 0 end)
        over (partition by instrument, item order by wave_order rows between unbounded preceding and current row)
        as scheme_version,
    case when previous_coding_key is not null and previous_coding_key <> coding_key then
        'item ' || item || ': scheme ' || previous_scheme || ' (wave ' || previous_wave || ') and ' || scheme
        || ' (wave ' || wave || ') decode differently (codes, values or missing codes)'
    end as not_comparable_reason
from lagged
