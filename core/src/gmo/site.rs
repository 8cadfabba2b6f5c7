//! GMO's Site API (members and their stored cards, 会員カード) and the ExecTran of a stored card:
//! request parameters and typed answers ("how to talk"; what an error means stays in
//! [`super::errors`]). Reference: `../shared/reference/gmo-pg.md` §2b (SaveMember, SearchMember,
//! SaveCard, SearchCard, DeleteCard, TradedCard) and §4c (store the card of a 3-D Secure payment
//! with TradedCard; later merchant-initiated charges on it).
//!
//! GMO keeps the card; kessai keeps the member id and what SearchCard shows (masked number,
//! expiry). Cards are addressed by `SeqMode=0` (logical numbering: a deleted card keeps its
//! number, so a CardSeq never silently points at another card).

use super::api::{Access, Malformed, ShopAuth};
use super::codec::{Params, get};
use super::installments::Installments;

pub const SAVE_MEMBER: &str = "/payment/SaveMember.idPass";
pub const SEARCH_MEMBER: &str = "/payment/SearchMember.idPass";
pub const SEARCH_CARD: &str = "/payment/SearchCard.idPass";
pub const DELETE_CARD: &str = "/payment/DeleteCard.idPass";
pub const TRADED_CARD: &str = "/payment/TradedCard.idPass";

/// A member GMO does not know (SearchMember, SearchCard, TradedCard, ExecTran).
pub const MEMBER_NOT_FOUND: &str = "E01390002";
/// SaveMember for a MemberID that exists.
pub const MEMBER_EXISTS: &str = "E01390010";
/// No card under that CardSeq (or it was deleted).
pub const CARD_NOT_FOUND: &str = "E01240002";
/// The member has as many cards as GMO allows ([S] 10).
pub const TOO_MANY_CARDS: &str = "E01230009";

/// Site credentials. `Debug` never prints the password.
#[derive(Clone)]
pub struct SiteAuth {
    pub site_id: String,
    pub site_pass: String,
}

impl std::fmt::Debug for SiteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteAuth")
            .field("site_id", &self.site_id)
            .field("site_pass", &"***")
            .finish()
    }
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn site(auth: &SiteAuth) -> Params {
    vec![p("SiteID", &auth.site_id), p("SitePass", &auth.site_pass)]
}

/// Checks a MemberID as GMO does ([S] ≤ 60 characters; kessai makes its own of `[a-z0-9-]`).
pub fn member_id_ok(member_id: &str) -> bool {
    !member_id.is_empty()
        && member_id.len() <= 60
        && member_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn save_member(auth: &SiteAuth, member_id: &str) -> Params {
    let mut v = site(auth);
    v.push(p("MemberID", member_id));
    v
}

pub fn search_member(auth: &SiteAuth, member_id: &str) -> Params {
    save_member(auth, member_id)
}

/// SearchCard for all the member's cards (logical numbering).
pub fn search_card(auth: &SiteAuth, member_id: &str) -> Params {
    let mut v = site(auth);
    v.extend([p("MemberID", member_id), p("SeqMode", "0")]);
    v
}

pub fn delete_card(auth: &SiteAuth, member_id: &str, card_seq: u32) -> Params {
    let mut v = site(auth);
    v.extend([
        p("MemberID", member_id),
        p("SeqMode", "0"),
        p("CardSeq", card_seq.to_string()),
    ]);
    v
}

/// TradedCard: stores the card of a finished transaction of `order_id` for the member
/// (`default`: the card later charges use, 継続課金の対象).
pub fn traded_card(
    shop: &ShopAuth,
    auth: &SiteAuth,
    order_id: &str,
    member_id: &str,
    default: bool,
) -> Params {
    let mut v = vec![p("ShopID", &shop.shop_id), p("ShopPass", &shop.shop_pass)];
    v.extend(site(auth));
    v.extend([
        p("OrderID", order_id),
        p("MemberID", member_id),
        p("SeqMode", "0"),
        p("DefaultFlag", if default { "1" } else { "0" }),
    ]);
    v
}

/// ExecTran with a stored card instead of a token.
pub fn exec_tran_stored(
    access: &Access,
    order_id: &str,
    auth: &SiteAuth,
    member_id: &str,
    card_seq: u32,
    pay: Installments,
) -> Params {
    let mut v = vec![
        p("AccessID", &access.access_id),
        p("AccessPass", &access.access_pass),
        p("OrderID", order_id),
    ];
    v.extend(pay.params());
    v.extend(site(auth));
    v.extend([
        p("MemberID", member_id),
        p("SeqMode", "0"),
        p("CardSeq", card_seq.to_string()),
    ]);
    v
}

/// One card of SearchCard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    pub card_seq: u32,
    pub default: bool,
    /// As GMO masks it (`*************111`: [C] last three digits in the 2013 fixtures).
    pub masked: String,
    /// `YYMM`.
    pub expire: String,
    pub deleted: bool,
}

impl StoredCard {
    /// The digits GMO leaves visible (for 「・・・・111」).
    pub fn last_digits(&self) -> &str {
        self.masked.trim_start_matches(['*', 'X', 'x'])
    }

    /// Whether the card's expiry month (`YYMM`) is before the JST month `(year, month)`.
    pub fn expired(&self, year: i32, month: u8) -> bool {
        match expire_month(&self.expire) {
            Some((y, m)) => (y, m) < (year, month),
            // An expiry we cannot read is not offered (a charge on it would be refused).
            None => true,
        }
    }
}

/// `YYMM` → (year, month), 20YY.
pub fn expire_month(expire: &str) -> Option<(i32, u8)> {
    if expire.len() != 4 || !expire.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = expire.get(..2)?.parse().ok()?;
    let mm: u8 = expire.get(2..)?.parse().ok()?;
    (1..=12).contains(&mm).then_some((2000 + yy, mm))
}

/// SearchCard's answer: every field holds one value per card, joined by `|` (column-wise).
pub fn read_cards(params: &[(String, String)]) -> Result<Vec<StoredCard>, Malformed> {
    let col = |k: &'static str| -> Vec<&str> {
        match get(params, k) {
            Some(v) => v.split('|').collect(),
            None => Vec::new(),
        }
    };
    let seqs = col("CardSeq");
    if get(params, "CardSeq").is_none() {
        return Err(Malformed("CardSeq"));
    }
    let (defaults, masked, expire, deleted) = (
        col("DefaultFlag"),
        col("CardNo"),
        col("Expire"),
        col("DeleteFlag"),
    );
    let mut cards = Vec::with_capacity(seqs.len());
    for (i, seq) in seqs.iter().enumerate() {
        let card_seq = seq.parse().map_err(|_| Malformed("CardSeq"))?;
        let at = |c: &Vec<&str>| c.get(i).copied().unwrap_or("").to_string();
        cards.push(StoredCard {
            card_seq,
            default: at(&defaults) == "1",
            masked: at(&masked),
            expire: at(&expire),
            deleted: at(&deleted) == "1",
        });
    }
    Ok(cards)
}

/// TradedCard's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    pub card_seq: u32,
    pub masked: String,
}

pub fn read_saved(params: &[(String, String)]) -> Result<SavedCard, Malformed> {
    Ok(SavedCard {
        card_seq: get(params, "CardSeq")
            .ok_or(Malformed("CardSeq"))?
            .parse()
            .map_err(|_| Malformed("CardSeq"))?,
        masked: get(params, "CardNo").unwrap_or("").to_string(),
    })
}

pub fn read_member(params: &[(String, String)]) -> Result<String, Malformed> {
    get(params, "MemberID")
        .map(str::to_string)
        .ok_or(Malformed("MemberID"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gmo::api::Answer;
    use crate::gmo::api::read;
    use crate::gmo::codec::decode_response;

    #[test]
    fn reads_search_card_column_wise() {
        let body = b"CardSeq=0|1|2&DefaultFlag=0|1|0&CardName=||&CardNo=*************111|*************444|*************000&Expire=1405|3012|2901&HolderName=||&DeleteFlag=0|0|1";
        let params = decode_response(body).expect("decodes");
        let Ok(Answer::Ok(cards)) = read(&params, read_cards) else {
            panic!("cards")
        };
        assert_eq!(cards.len(), 3);
        assert_eq!(cards[1].card_seq, 1);
        assert!(cards[1].default && !cards[0].default);
        assert_eq!(cards[1].last_digits(), "444");
        assert!(cards[2].deleted);
        assert!(cards[0].expired(2026, 12), "1405 is past");
        assert!(!cards[1].expired(2026, 12));
    }

    #[test]
    fn reads_the_2013_fixture_of_one_card() {
        let params = decode_response(
            b"CardSeq=0&DefaultFlag=0&CardName=&CardNo=*************111&Expire=1405&HolderName=&DeleteFlag=0",
        )
        .expect("decodes");
        let cards = read_cards(&params).expect("one card");
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].expire, "1405");
        let err = decode_response(b"ErrCode=E01&ErrInfo=E01390002").expect("decodes");
        assert!(
            matches!(read(&err, read_cards), Ok(Answer::Err(e)) if e.contains(MEMBER_NOT_FOUND))
        );
        assert!(read_cards(&decode_response(b"CardSeq=x").expect("decodes")).is_err());
    }

    #[test]
    fn expiry_month_is_checked_in_the_month_itself() {
        let card = |e: &str| StoredCard {
            card_seq: 0,
            default: false,
            masked: String::new(),
            expire: e.into(),
            deleted: false,
        };
        assert!(!card("2612").expired(2026, 12), "valid through its month");
        assert!(card("2611").expired(2026, 12));
        assert!(card("2613").expired(2026, 12), "unreadable month");
        assert!(card("").expired(2026, 12));
    }

    #[test]
    fn stored_exec_tran_names_the_member_card_and_method() {
        let access = Access {
            access_id: "a".into(),
            access_pass: "b".into(),
        };
        let auth = SiteAuth {
            site_id: "tsite1".into(),
            site_pass: "sekrit".into(),
        };
        let params = exec_tran_stored(&access, "o-1", &auth, "km-1", 2, Installments::Split(6));
        let got = |k: &str| get(&params, k).map(str::to_string);
        assert_eq!(got("CardSeq").as_deref(), Some("2"));
        assert_eq!(got("SeqMode").as_deref(), Some("0"));
        assert_eq!(got("Method").as_deref(), Some("2"));
        assert_eq!(got("PayTimes").as_deref(), Some("6"));
        assert_eq!(got("Token"), None);
        assert!(!format!("{auth:?}").contains("sekrit"));
        assert!(member_id_ok("km-0123abcd") && !member_id_ok("") && !member_id_ok(&"a".repeat(61)));
    }
}
