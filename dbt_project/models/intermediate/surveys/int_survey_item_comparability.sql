-- Item crosswalk across waves (SPEC 3.3; issue 5): per instrument x item x wave, the answer scheme's
-- signature and whether it equals the previous wave's. scheme_version counts scheme changes, so rows
-- with the same (instrument, item, scheme_version) may be pooled and rows with different ones never.
with items as (
    select
        i.instrument,
        i.item,
        i.wave,
        w.wave_order,
        i.construct,
        i.scheme_signature,
        lag(i.scheme_signature) over (partition by i.instrument, i.item order by w.wave_order) as previous_signature
    from {{ ref('stg_surveys__items') }} as i
    inner join {{ ref('int_survey_waves_ordered') }} as w on w.instrument = i.instrument and w.wave = i.wave
    where not i.is_text
)

select
    instrument,
    item,
    wave,
    wave_order,
    construct,
    scheme_signature,
    case when previous_signature is null then null else previous_signature = scheme_signature end
        as comparable_with_previous_wave,
    1 + sum(case when previous_signature is not null and previous_signature <> scheme_signature then 1 else 0 end)
        over (partition by instrument, item order by wave_order rows between unbounded preceding and current row)
        as scheme_version
from items
