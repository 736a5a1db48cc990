-- items v2, EXPAND phase of an expand/contract migration (story 1: "2-week
-- deprecation policy, backward-compatible changes by default").
--
-- The app team splits `category` ('news') into a taxonomy: `category_group`
-- ('information') and `category_name` ('news'). Expand adds the new columns
-- as NULLABLE, so the change is compatible in every registry mode (the CDC
-- bridge derives optional Avro fields with default null) and no reader of
-- `category` breaks. From this version on the app dual-writes: new rows carry
-- both `category` and the new columns (contracts/cdc/dualwrite.py).
-- Historical rows get the new columns from the CDC change log
-- (contracts/cdc/backfill.py); only then may the CONTRACT phase drop
-- `category`, no earlier than the removal date below.
ALTER TABLE items
    ADD COLUMN category_group text,
    ADD COLUMN category_name text;

COMMENT ON COLUMN items.category IS
    'DEPRECATED 2026-12-01 by items v2: read category_name (and category_group). '
    'Removal (contract phase) not before 2026-12-15.';
