-- Stored cards (会員カード) and 支払回数 (issue #14). GMO keeps the cards (Site API); kessai keeps
-- which GMO member is which of the shop's customers, and per payment how it was paid.
-- `customers.customer_id` is the shop's own member id as the merchant server names it;
-- `gmo_member_id` is kessai's (random, so the shop's ids never reach GMO); `member_saved` turns 1
-- once SaveMember succeeded (or GMO said the member exists).
CREATE TABLE IF NOT EXISTS customers (
  customer_id TEXT PRIMARY KEY,
  gmo_member_id TEXT NOT NULL UNIQUE,
  member_saved INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
-- What SearchCard does not tell: the brand the widget saw when the card was saved (cosmetic,
-- for 「VISA ・・・・111」), from which payment it was saved, and whether that payment was 3-D
-- Secure-authenticated (later merchant-initiated charges rely on it, #15).
CREATE TABLE IF NOT EXISTS customer_cards (
  customer_id TEXT NOT NULL,
  card_seq INTEGER NOT NULL,
  brand TEXT,
  payment_id TEXT,
  three_d_secure INTEGER NOT NULL DEFAULT 0,
  saved_at INTEGER NOT NULL,
  PRIMARY KEY (customer_id, card_seq)
);
-- Per payment: its customer (set on creation), the attempt's choices (stored card `card_seq`,
-- `save_card` with the brand seen, `installments` as kessai_core::gmo::installments codes) and
-- the card saved from it (`saved_card_seq`, after TradedCard).
ALTER TABLE payments ADD COLUMN customer_id TEXT;
ALTER TABLE payments ADD COLUMN installments TEXT NOT NULL DEFAULT 'lump';
ALTER TABLE payments ADD COLUMN card_seq INTEGER;
ALTER TABLE payments ADD COLUMN save_card INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN save_card_brand TEXT;
ALTER TABLE payments ADD COLUMN saved_card_seq INTEGER;
CREATE INDEX IF NOT EXISTS payments_customer ON payments (customer_id);
