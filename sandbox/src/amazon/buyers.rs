//! The sandbox buyers a tester picks on the hosted login page. Their data is fictitious (the
//! addresses are well-known public landmarks' postal areas, the phone numbers use the 0X0-0000
//! style no real subscriber has), so nothing here is anybody's personal data.

/// What happens when this buyer's payment is authorised on the processing page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuyerOutcome {
    /// The authorisation succeeds.
    Pays,
    /// The authorisation is hard-declined: the checkout session is canceled with reasonCode
    /// `Declined` (like Amazon's sandbox card ending 3434) and nothing is authorised.
    HardDeclined,
}

/// A Japanese address as Amazon returns it (`stateOrRegion` = prefecture; `city` may be empty,
/// in which case the municipality is in `addressLine1`, as real JP addresses sometimes come).
#[derive(Debug, Clone, Copy)]
pub struct SandboxAddress {
    pub name: &'static str,
    pub postal_code: &'static str,
    pub state_or_region: &'static str,
    pub city: Option<&'static str>,
    pub address_line1: &'static str,
    pub address_line2: Option<&'static str>,
    pub phone_number: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct SandboxBuyer {
    /// The value of the login page's `buyer` radio (`name=buyer value=<key>`).
    pub key: &'static str,
    /// Amazon's stable buyer id.
    pub buyer_id: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub phone_number: &'static str,
    pub outcome: BuyerOutcome,
    /// The address book; index = the address page's `address` radio value.
    pub addresses: &'static [SandboxAddress],
    /// The wallet; index = the address page's `paymentMethod` radio value.
    pub payment_methods: &'static [&'static str],
}

const TOKYO: SandboxAddress = SandboxAddress {
    name: "山田 太郎",
    postal_code: "100-0001",
    state_or_region: "東京都",
    city: Some("千代田区"),
    address_line1: "千代田1-1",
    address_line2: None,
    phone_number: "090-0000-0001",
};

const OSAKA: SandboxAddress = SandboxAddress {
    name: "山田 太郎",
    postal_code: "530-0001",
    state_or_region: "大阪府",
    city: Some("大阪市北区"),
    address_line1: "梅田3-1-1",
    address_line2: Some("梅田サンドボックスビル 12階"),
    phone_number: "06-0000-0002",
};

/// City left empty on purpose: the municipality sits in addressLine1 (reference §6.5).
const NAGOYA: SandboxAddress = SandboxAddress {
    name: "山田 花子",
    postal_code: "460-0001",
    state_or_region: "愛知県",
    city: None,
    address_line1: "名古屋市中区三の丸3-1-1",
    address_line2: None,
    phone_number: "052-000-0003",
};

const SAPPORO: SandboxAddress = SandboxAddress {
    name: "佐藤 花子",
    postal_code: "060-0001",
    state_or_region: "北海道",
    city: Some("札幌市中央区"),
    address_line1: "北1条西2丁目",
    address_line2: None,
    phone_number: "011-000-0004",
};

const FUKUOKA: SandboxAddress = SandboxAddress {
    name: "鈴木 一郎",
    postal_code: "810-0001",
    state_or_region: "福岡県",
    city: Some("福岡市中央区"),
    address_line1: "天神1-8-1",
    address_line2: Some("天神テストハイツ 305"),
    phone_number: "092-000-0005",
};

pub const TARO: SandboxBuyer = SandboxBuyer {
    key: "taro",
    buyer_id: "amzn1.account.AEKESSAISANDBOXTAROYAMADA01",
    name: "山田 太郎",
    email: "taro.yamada@example.jp",
    phone_number: "090-0000-0001",
    outcome: BuyerOutcome::Pays,
    addresses: &[TOKYO, OSAKA, NAGOYA],
    payment_methods: &["Visa ****1111", "JCB ****0000"],
};

pub const HANAKO: SandboxBuyer = SandboxBuyer {
    key: "hanako",
    buyer_id: "amzn1.account.AEKESSAISANDBOXHANAKOSATO02",
    name: "佐藤 花子",
    email: "hanako.sato@example.jp",
    phone_number: "011-000-0004",
    outcome: BuyerOutcome::HardDeclined,
    addresses: &[SAPPORO],
    payment_methods: &["Mastercard ****3434"],
};

pub const ICHIRO: SandboxBuyer = SandboxBuyer {
    key: "ichiro",
    buyer_id: "amzn1.account.AEKESSAISANDBOXICHIROSUZUKI3",
    name: "鈴木 一郎",
    email: "ichiro.suzuki@example.jp",
    phone_number: "092-000-0005",
    outcome: BuyerOutcome::Pays,
    addresses: &[FUKUOKA],
    payment_methods: &["Visa ****4444"],
};

/// Every sandbox buyer, in the order the login page lists them.
pub const BUYERS: &[SandboxBuyer] = &[TARO, HANAKO, ICHIRO];

pub fn by_key(key: &str) -> Option<&'static SandboxBuyer> {
    BUYERS.iter().find(|b| b.key == key)
}

pub fn by_id(buyer_id: &str) -> Option<&'static SandboxBuyer> {
    BUYERS.iter().find(|b| b.buyer_id == buyer_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyers_are_distinct_and_have_an_address_and_a_wallet() {
        for (i, b) in BUYERS.iter().enumerate() {
            assert!(!b.addresses.is_empty() && !b.payment_methods.is_empty());
            assert!(b.buyer_id.starts_with("amzn1.account."));
            for other in &BUYERS[i + 1..] {
                assert_ne!(b.key, other.key);
                assert_ne!(b.buyer_id, other.buyer_id);
            }
        }
        assert_eq!(
            by_key("hanako").map(|b| b.outcome),
            Some(BuyerOutcome::HardDeclined)
        );
        assert!(by_key("nobody").is_none());
    }
}
