-- The edge's test clock (ACCESS_MODE=test with TEST_CLOCK=on only): when a row exists, every
-- request runs at `frozen_ms` (Unix ms, UTC) instead of the real time, so end-to-end tests can
-- cross JST day and month boundaries together with the sandboxes' clocks. Live mode never reads
-- it (Config refuses TEST_CLOCK there).
CREATE TABLE IF NOT EXISTS test_clock (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  frozen_ms INTEGER NOT NULL
);
