//! GMO 結果通知 (result notification): the form GMO POSTs to the shop's URL after a transaction
//! changes (reference `gmo-pg.md` §4d). Passwords arrive masked (`ShopPass`, `AccessPass`) and
//! are not kept. The posted `Status` is a hint only: kessai reconciles with SearchTrade.

use super::codec::get;

/// What GMO expects as the body of a 200 answer: received, do not send again.
pub const RECEIVED: &str = "0";
/// Any other answer makes GMO send the notification again [U: retry schedule].
pub const SEND_AGAIN: &str = "1";
/// `ErrInfo`/`ErrCode` of GMO's connectivity test [C: code; which field carries it U].
pub const PING_CODE: &str = "E00000000";

/// The fields kessai reads (the rest are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultNotification {
    pub shop_id: String,
    pub access_id: String,
    pub order_id: String,
    /// As posted (`AUTH`, `SALES`, `VOID`, …); never trusted.
    pub status: String,
    pub job_cd: String,
    pub tran_id: String,
    pub tran_date: String,
    pub err_info: String,
}

/// Why a form is not a result notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNotification(pub &'static str);

impl ResultNotification {
    /// GMO's connectivity test.
    pub fn is_ping(&self) -> bool {
        self.err_info.split('|').any(|c| c == PING_CODE)
    }

    /// One key per transaction change: the same notification sent again maps to the same key.
    pub fn dedupe_key(&self) -> String {
        format!(
            "gmo:{}:{}:{}:{}",
            self.access_id, self.status, self.tran_id, self.tran_date
        )
    }
}

/// Reads the decoded form (`codec::decode_form`, CP932).
pub fn read_notification(
    params: &[(String, String)],
) -> Result<ResultNotification, NotNotification> {
    let field = |k: &'static str| get(params, k).unwrap_or("").trim().to_string();
    let err_info = format!("{}|{}", field("ErrCode"), field("ErrInfo"));
    let n = ResultNotification {
        shop_id: field("ShopID"),
        access_id: field("AccessID"),
        order_id: field("OrderID"),
        status: field("Status"),
        job_cd: field("JobCd"),
        tran_id: field("TranID"),
        tran_date: field("TranDate"),
        err_info,
    };
    if n.shop_id.is_empty() {
        return Err(NotNotification("ShopID"));
    }
    if n.is_ping() {
        return Ok(n);
    }
    if n.order_id.is_empty() {
        return Err(NotNotification("OrderID"));
    }
    if n.access_id.is_empty() {
        return Err(NotNotification("AccessID"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gmo::codec::{decode_form, encode_form};

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let body = encode_form(pairs).expect("encodes");
        decode_form(body.as_bytes()).expect("decodes")
    }

    #[test]
    fn reads_a_sales_notification_and_ignores_masked_passwords() {
        let p = form(&[
            ("ShopID", "tshop00000001"),
            ("ShopPass", "**********"),
            ("AccessID", "a1b2"),
            ("AccessPass", "********************************"),
            ("OrderID", "K-1-1"),
            ("Status", "SALES"),
            ("JobCd", "SALES"),
            ("Amount", "1200"),
            ("TranID", "2601010000000000000001"),
            ("TranDate", "20260101120000"),
            ("ErrCode", ""),
            ("ErrInfo", ""),
            ("PayType", "0"),
        ]);
        let n = read_notification(&p).expect("reads");
        assert_eq!(n.order_id, "K-1-1");
        assert_eq!(n.status, "SALES");
        assert!(!n.is_ping());
        assert_eq!(
            n.dedupe_key(),
            "gmo:a1b2:SALES:2601010000000000000001:20260101120000"
        );
        assert!(!format!("{n:?}").contains("****"));
    }

    #[test]
    fn ping_and_missing_fields() {
        let ping = form(&[("ShopID", "tshop00000001"), ("ErrInfo", "E00000000")]);
        assert!(read_notification(&ping).expect("ping").is_ping());
        let no_order = form(&[("ShopID", "tshop00000001"), ("AccessID", "a")]);
        assert_eq!(
            read_notification(&no_order),
            Err(NotNotification("OrderID"))
        );
        assert_eq!(read_notification(&[]), Err(NotNotification("ShopID")));
    }
}
