-- Amazon Pay (CV2): what a payment learnt at Amazon, sign-in states and member ↔ Amazon account
-- links. Times are Unix milliseconds (UTC). Buyer PII lives only in these columns: never in
-- payment_events.detail and never in logs.

ALTER TABLE payments ADD COLUMN amazon_checkout_session_id TEXT;   -- the CS the shopper is paying with
ALTER TABLE payments ADD COLUMN amazon_charge_id TEXT;
ALTER TABLE payments ADD COLUMN amazon_charge_permission_id TEXT;
ALTER TABLE payments ADD COLUMN amazon_buyer_id TEXT;              -- amzn1.account.…
ALTER TABLE payments ADD COLUMN amazon_buyer_name TEXT;
ALTER TABLE payments ADD COLUMN amazon_buyer_email TEXT;
ALTER TABLE payments ADD COLUMN shipping_address TEXT;             -- JSON, as Amazon reported it
ALTER TABLE payments ADD COLUMN return_url TEXT;                   -- storefront page Amazon flows end on
-- authorized_at (0001) is reused for the Amazon authorisation time.
CREATE UNIQUE INDEX payments_amazon_checkout_session ON payments(amazon_checkout_session_id)
  WHERE amazon_checkout_session_id IS NOT NULL;

-- Sign in with Amazon: one row per rendered sign-in button; single use, 10 minutes.
CREATE TABLE amazon_signin_states (
  state       TEXT PRIMARY KEY,                -- 32 hex, in signInReturnUrl
  return_url  TEXT NOT NULL,                   -- storefront page the assertion is posted to
  nonce       TEXT NOT NULL,                   -- the storefront's session nonce, echoed in the assertion
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
);
CREATE INDEX amazon_signin_states_expiry ON amazon_signin_states(expires_at);

-- A shop member's linked Amazon account (マイページ). One Amazon account per member and one member
-- per Amazon account.
CREATE TABLE amazon_account_links (
  member_id  TEXT PRIMARY KEY,
  buyer_id   TEXT NOT NULL UNIQUE,
  linked_at  INTEGER NOT NULL
);
