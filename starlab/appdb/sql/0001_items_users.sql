-- The app team's catalogue: the same columns the generator wrote to
-- lake/dims (starlab/events/files.py write_dimensions), so the dims landed from
-- CDC are a drop-in replacement for the generated ones.
-- timestamptz(3): the generator's times are milliseconds; with precision 3
-- the CDC bridge maps the column to Avro timestamp-millis without loss.
CREATE TABLE items (
    item_id    text PRIMARY KEY,
    category   text NOT NULL,
    created_at timestamptz(3) NOT NULL
);

CREATE TABLE users (
    user_id       text PRIMARY KEY,
    country       text NOT NULL,
    signup_at     timestamptz(3) NOT NULL,
    home_platform text NOT NULL
);

-- FULL: updates and deletes carry the whole old row in the WAL, so every
-- change event has a complete `before` (the backfill and audits read it;
-- with the default only the primary key of a deleted row survives).
ALTER TABLE items REPLICA IDENTITY FULL;
ALTER TABLE users REPLICA IDENTITY FULL;
