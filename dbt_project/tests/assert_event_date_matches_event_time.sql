-- Every lake row sits in the partition of its own UTC event date. A writer
-- that files events under the wrong date would make the incremental model
-- re-process the wrong dates (and the dedup window, partitioned by
-- event_date, miss duplicates across partitions). Runs on the raw lake: a
-- plain scan, no dedup.
select event_id, event_ts, event_date, filename
from {{ source('lake', 'events') }}
where event_date <> cast(timezone('UTC', event_ts) as date)
