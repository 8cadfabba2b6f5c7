//! What a subscription is charged on.

use serde::{Deserialize, Serialize};

use crate::gmo::site::member_id_ok;

/// A stored GMO card (会員ID + カード登録連番) or an Amazon Pay recurring charge permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaymentSource {
    /// A card stored on GMO's member (charged merchant-initiated: SeqMode 0 + CardSeq, no 3DS).
    GmoCard { member_id: String, card_seq: u32 },
    /// An Amazon Pay `Recurring` charge permission (Create Charge on it each cycle). The buyer
    /// changes its payment method on Amazon; the id stays the same.
    AmazonChargePermission { charge_permission_id: String },
}

/// The kind of a [`PaymentSource`], for filters and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    GmoCard,
    AmazonPay,
}

/// Why a payment source was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceError {
    InvalidMemberId,
    InvalidChargePermissionId,
}

impl SourceError {
    pub fn code(self) -> &'static str {
        match self {
            SourceError::InvalidMemberId => "invalid_member_id",
            SourceError::InvalidChargePermissionId => "invalid_charge_permission_id",
        }
    }
    pub fn message_en(self) -> &'static str {
        match self {
            SourceError::InvalidMemberId => {
                "member id must be 1-60 characters of letters, digits, '-' and '_'"
            }
            SourceError::InvalidChargePermissionId => {
                "charge permission id must look like S03-1234567-1234567 or P03-1234567-1234567"
            }
        }
    }
    pub fn message_ja(self) -> &'static str {
        match self {
            SourceError::InvalidMemberId => {
                "会員IDは英数字・ハイフン・アンダースコアの1〜60文字で指定してください。"
            }
            SourceError::InvalidChargePermissionId => {
                "Amazon Pay の支払い許可ID(例: S03-1234567-1234567)の形式が正しくありません。"
            }
        }
    }
}

/// The shape of a charge permission id: `S03-` or `P03-` then `digits-digits` (reference §1.3;
/// lengths of the digit groups not pinned down, so 1..=10 each).
pub fn charge_permission_id_ok(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("S03-").or_else(|| id.strip_prefix("P03-")) else {
        return false;
    };
    let Some((a, b)) = rest.split_once('-') else {
        return false;
    };
    let group = |g: &str| (1..=10).contains(&g.len()) && g.bytes().all(|c| c.is_ascii_digit());
    group(a) && group(b)
}

impl PaymentSource {
    /// A checked stored card.
    pub fn gmo_card(member_id: &str, card_seq: u32) -> Result<PaymentSource, SourceError> {
        if !member_id_ok(member_id) {
            return Err(SourceError::InvalidMemberId);
        }
        Ok(PaymentSource::GmoCard {
            member_id: member_id.to_string(),
            card_seq,
        })
    }

    /// A checked Amazon charge permission.
    pub fn amazon(charge_permission_id: &str) -> Result<PaymentSource, SourceError> {
        if !charge_permission_id_ok(charge_permission_id) {
            return Err(SourceError::InvalidChargePermissionId);
        }
        Ok(PaymentSource::AmazonChargePermission {
            charge_permission_id: charge_permission_id.to_string(),
        })
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            PaymentSource::GmoCard { .. } => SourceKind::GmoCard,
            PaymentSource::AmazonChargePermission { .. } => SourceKind::AmazonPay,
        }
    }

    /// The Amazon charge permission id, if the source is one.
    pub fn charge_permission_id(&self) -> Option<&str> {
        match self {
            PaymentSource::GmoCard { .. } => None,
            PaymentSource::AmazonChargePermission {
                charge_permission_id,
            } => Some(charge_permission_id),
        }
    }
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::GmoCard => "gmo_card",
            SourceKind::AmazonPay => "amazon_pay",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            SourceKind::GmoCard => "クレジットカード",
            SourceKind::AmazonPay => "Amazon Pay",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert!(PaymentSource::gmo_card("mem-0001", 0).is_ok());
        assert_eq!(
            PaymentSource::gmo_card("", 0),
            Err(SourceError::InvalidMemberId)
        );
        assert_eq!(
            PaymentSource::gmo_card("a b", 0),
            Err(SourceError::InvalidMemberId)
        );
        let a = PaymentSource::amazon("S03-4260904-6894064");
        assert_eq!(
            a.as_ref()
                .ok()
                .and_then(PaymentSource::charge_permission_id),
            Some("S03-4260904-6894064")
        );
        assert_eq!(a.map(|s| s.kind()), Ok(SourceKind::AmazonPay));
        for bad in ["", "S03-", "S03-1", "X03-1-2", "S03-1-2-C000001", "S03-a-2"] {
            assert!(!charge_permission_id_ok(bad), "{bad}");
        }
        let json = serde_json::to_value(PaymentSource::GmoCard {
            member_id: "m1".into(),
            card_seq: 2,
        })
        .ok();
        assert_eq!(
            json,
            Some(serde_json::json!({"type":"gmo_card","member_id":"m1","card_seq":2}))
        );
    }
}
