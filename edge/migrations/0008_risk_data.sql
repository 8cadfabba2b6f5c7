-- Risk data for EMV 3-D Secure 2 as the merchant sent it on POST /v1/payments (`risk`), stored
-- in kessai's normalised JSON form (kessai_core::gmo::risk::to_json); NULL when none was given.
-- ExecTran sends it as Tds2Email / Tds2BillAddr* / Tds2ShipAddr* / Tds2ChAccDate.
ALTER TABLE payments ADD COLUMN risk_data TEXT;
