-- The customer's default stored card as the shop's マイページ chose it (issue #14). GMO's own
-- DefaultFlag is set once, by TradedCard on the first card; changing it at GMO would need SaveCard
-- with card data ([U] reference §2b), so kessai keeps the choice: its views and its charges (#15)
-- use this card while it exists, else GMO's flag.
ALTER TABLE customers ADD COLUMN default_card_seq INTEGER;
