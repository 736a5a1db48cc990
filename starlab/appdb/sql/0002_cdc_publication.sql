-- The tables that leave the app database through CDC (pgoutput). Explicit on
-- purpose: a new table is captured only after a reviewed ALTER PUBLICATION.
CREATE PUBLICATION app_cdc FOR TABLE items, users;
