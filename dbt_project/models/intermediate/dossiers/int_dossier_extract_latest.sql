-- The latest loaded dossier extract (SPEC 4, 5): one row, its date as as_of_date. Every "latest extract"
-- model reads its date from here; as_of_date is null when no extract is loaded.
select max(extract_date) as as_of_date
from {{ ref('stg_dossiers__extracts') }}
