-- Operator console (issue #4): operator sessions, login throttling, and the customer's name.

-- A session is known by the SHA-256 of its token only: a D1 dump cannot be replayed as a cookie.
CREATE TABLE console_sessions (
  token_hash  TEXT PRIMARY KEY,                -- hex SHA-256 of the cookie's token
  operator    TEXT NOT NULL,                   -- operator name from CONSOLE_OPERATORS
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);

-- Failed logins per operator name (also names that do not exist, so both look alike).
CREATE TABLE console_login_failures (
  name          TEXT PRIMARY KEY,
  count         INTEGER NOT NULL,
  window_start  INTEGER NOT NULL,
  locked_until  INTEGER
);

-- The customer's name as the storefront sent it (POST /v1/payments customer_name); optional.
ALTER TABLE payments ADD COLUMN customer_name TEXT;
