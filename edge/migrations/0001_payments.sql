-- kessai edge schema. Money is integer JPY; times are Unix milliseconds (UTC); calendar rules
-- convert to JST in code (kessai-core::jst).

CREATE TABLE payments (
  id              TEXT PRIMARY KEY,            -- pay_<24 hex>
  client_secret   TEXT NOT NULL,               -- pay_<id>_secret_<32 hex>; scoped to this payment
  order_id        TEXT NOT NULL UNIQUE,        -- the storefront's order number
  amount          INTEGER NOT NULL CHECK (amount > 0),
  currency        TEXT NOT NULL DEFAULT 'JPY',
  method          TEXT NOT NULL DEFAULT 'card',
  capture_mode    TEXT NOT NULL,               -- manual (仮売上) | automatic (即時売上)
  state           TEXT NOT NULL,
  version         INTEGER NOT NULL DEFAULT 0,  -- compare-and-set guard for every state change
  lease_until     INTEGER,                     -- processing lease: a gateway call is in flight
  attempt_started_at INTEGER,                  -- when the last authorisation attempt began
  gmo_order_id    TEXT NOT NULL UNIQUE,        -- GMO OrderID of the current attempt (unique forever at GMO)
  gmo_attempt     INTEGER NOT NULL DEFAULT 1,
  gmo_access_id   TEXT,
  gmo_access_pass TEXT,
  gmo_tran_id     TEXT,
  gmo_approve     TEXT,
  gmo_forward     TEXT,
  gmo_tran_date   TEXT,                        -- yyyyMMddHHmmss JST, as GMO reports it
  card_mask       TEXT,
  last_error_code TEXT,                        -- kessai error code of the last failed attempt
  last_error_info TEXT,                        -- GMO ErrInfo of the last failed attempt
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  authorized_at   INTEGER
);
CREATE INDEX payments_state ON payments(state, created_at);

-- Append-only history: who did what, from which state to which, and what the gateway said.
CREATE TABLE payment_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id  TEXT NOT NULL REFERENCES payments(id),
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,                   -- shopper | merchant | system | gateway
  kind        TEXT NOT NULL,
  from_state  TEXT,
  to_state    TEXT,
  detail      TEXT NOT NULL DEFAULT '{}'       -- JSON; never card data, tokens or passwords
);
CREATE INDEX payment_events_payment ON payment_events(payment_id, id);
CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment_events is append-only'); END;
CREATE TRIGGER payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment_events is append-only'); END;

-- Merchant API idempotency: the first result of a key is replayed for the same request.
CREATE TABLE idempotency_keys (
  key          TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  body         TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);
