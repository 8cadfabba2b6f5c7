-- Payment operations (issue #4): what kessai needs to plan a capture, amount change, cancel or
-- refund (kessai_core::operations::PaymentSnapshot). NULL in rows written before this migration
-- (or by flows that do not know the column): the edge derives the value from the state then.

ALTER TABLE payments ADD COLUMN authorized_amount INTEGER;   -- what the gateway holds authorised
ALTER TABLE payments ADD COLUMN captured_amount INTEGER;     -- captured and not cancelled (card) / captureAmount (Amazon)
ALTER TABLE payments ADD COLUMN refunded_amount INTEGER;     -- sum of accepted Amazon refunds
ALTER TABLE payments ADD COLUMN first_authorized_at INTEGER; -- the first authorisation (GMO's 180-day limit)
ALTER TABLE payments ADD COLUMN gmo_status TEXT;             -- GMO's status as kessai last saw it
