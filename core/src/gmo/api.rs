//! Requests and typed answers of the protocol-type calls kessai uses. Building parameters and
//! reading answers is "how to talk"; what an error means is in [`super::errors`].

use super::codec::{Params, get};
use super::errors::GmoErrors;
use super::installments::Installments;
use super::status::{JobCd, TranStatus};

/// Paths under the API base (`https://pt01.mul-pay.jp` test, `https://p01.mul-pay.jp` live).
pub const ENTRY_TRAN: &str = "/payment/EntryTran.idPass";
pub const EXEC_TRAN: &str = "/payment/ExecTran.idPass";
pub const ALTER_TRAN: &str = "/payment/AlterTran.idPass";
pub const CHANGE_TRAN: &str = "/payment/ChangeTran.idPass";
pub const SEARCH_TRADE: &str = "/payment/SearchTrade.idPass";

/// Shop credentials. `Debug` never prints the password.
#[derive(Clone)]
pub struct ShopAuth {
    pub shop_id: String,
    pub shop_pass: String,
}

impl std::fmt::Debug for ShopAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopAuth")
            .field("shop_id", &self.shop_id)
            .field("shop_pass", &"***")
            .finish()
    }
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// Checks an OrderID the way GMO does: 1–27 characters of `[A-Za-z0-9-]`.
pub fn order_id_error(order_id: &str) -> Option<&'static str> {
    if order_id.is_empty() {
        Some("E01040001")
    } else if order_id.len() > 27 {
        Some("E01040003")
    } else if !order_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Some("E01040013")
    } else {
        None
    }
}

/// EntryTran. CHECK (有効性チェック) carries no Amount or Tax (reference §2).
pub fn entry_tran(auth: &ShopAuth, order_id: &str, job: JobCd, amount: i64) -> Params {
    let mut v = vec![
        p("ShopID", &auth.shop_id),
        p("ShopPass", &auth.shop_pass),
        p("OrderID", order_id),
        p("JobCd", job.as_str()),
    ];
    if job != JobCd::Check {
        v.push(p("Amount", amount.to_string()));
        v.push(p("Tax", "0"));
    }
    v
}

/// ExecTran with a token, paid as `pay` (支払回数: `Method`, `PayTimes`).
pub fn exec_tran_token(access: &Access, order_id: &str, token: &str, pay: Installments) -> Params {
    let mut v = vec![
        p("AccessID", &access.access_id),
        p("AccessPass", &access.access_pass),
        p("OrderID", order_id),
    ];
    v.extend(pay.params());
    v.push(p("Token", token));
    v
}

/// AlterTran; a re-authorisation (`amount` with AUTH/CAPTURE/SAUTH) keeps the payment's 支払回数.
pub fn alter_tran(
    auth: &ShopAuth,
    access: &Access,
    job: JobCd,
    amount: Option<i64>,
    pay: Installments,
) -> Params {
    let mut v = vec![
        p("ShopID", &auth.shop_id),
        p("ShopPass", &auth.shop_pass),
        p("AccessID", &access.access_id),
        p("AccessPass", &access.access_pass),
        p("JobCd", job.as_str()),
    ];
    if let Some(a) = amount {
        v.push(p("Amount", a.to_string()));
        if matches!(job, JobCd::Auth | JobCd::Capture | JobCd::Sauth) {
            v.extend(pay.params());
        }
    }
    v
}

pub fn change_tran(auth: &ShopAuth, access: &Access, job: JobCd, amount: i64) -> Params {
    vec![
        p("ShopID", &auth.shop_id),
        p("ShopPass", &auth.shop_pass),
        p("AccessID", &access.access_id),
        p("AccessPass", &access.access_pass),
        p("JobCd", job.as_str()),
        p("Amount", amount.to_string()),
        p("Tax", "0"),
    ]
}

pub fn search_trade(auth: &ShopAuth, order_id: &str) -> Params {
    vec![
        p("ShopID", &auth.shop_id),
        p("ShopPass", &auth.shop_pass),
        p("OrderID", order_id),
    ]
}

/// AccessID/AccessPass of one transaction. `Debug` hides the pass.
#[derive(Clone, PartialEq, Eq)]
pub struct Access {
    pub access_id: String,
    pub access_pass: String,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("access_id", &self.access_id)
            .field("access_pass", &"***")
            .finish()
    }
}

/// An answer: success fields or the error pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Ok(T),
    Err(GmoErrors),
}

/// Something in a success answer we cannot use: treat as an unknown outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

fn need<'a>(params: &'a [(String, String)], key: &'static str) -> Result<&'a str, Malformed> {
    get(params, key).ok_or(Malformed(key))
}

pub fn read<T>(
    params: &[(String, String)],
    ok: impl FnOnce(&[(String, String)]) -> Result<T, Malformed>,
) -> Result<Answer<T>, Malformed> {
    match GmoErrors::from_params(params) {
        Some(e) => Ok(Answer::Err(e)),
        None => ok(params).map(Answer::Ok),
    }
}

pub fn read_access(params: &[(String, String)]) -> Result<Access, Malformed> {
    Ok(Access {
        access_id: need(params, "AccessID")?.to_string(),
        access_pass: need(params, "AccessPass")?.to_string(),
    })
}

/// ExecTran success: ACS=0 carries the authorisation; ACS=2 asks for 3-D Secure 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecResult {
    Authorized(Authorization),
    ThreeDSecure { redirect_url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub forward: String,
    pub approve: String,
    pub tran_id: String,
    pub tran_date: String,
}

pub fn read_exec(params: &[(String, String)]) -> Result<ExecResult, Malformed> {
    match need(params, "ACS")? {
        "0" => Ok(ExecResult::Authorized(Authorization {
            forward: need(params, "Forward")?.to_string(),
            approve: need(params, "Approve")?.to_string(),
            tran_id: need(params, "TranID")?.to_string(),
            tran_date: need(params, "TranDate")?.to_string(),
        })),
        "2" => Ok(ExecResult::ThreeDSecure {
            redirect_url: need(params, "RedirectUrl")?.to_string(),
        }),
        _ => Err(Malformed("ACS")),
    }
}

/// AlterTran / ChangeTran success.
pub fn read_alter(params: &[(String, String)]) -> Result<Authorization, Malformed> {
    Ok(Authorization {
        forward: get(params, "Forward").unwrap_or("").to_string(),
        approve: get(params, "Approve").unwrap_or("").to_string(),
        tran_id: need(params, "TranID")?.to_string(),
        tran_date: need(params, "TranDate")?.to_string(),
    })
}

/// SearchTrade success: the gateway's view of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub order_id: String,
    pub status: TranStatus,
    pub process_date: String,
    pub job_cd: String,
    pub access: Access,
    pub amount: i64,
    pub card_no: String,
    pub forward: String,
    pub approve: String,
    pub tran_id: String,
}

pub fn read_trade(params: &[(String, String)]) -> Result<Trade, Malformed> {
    Ok(Trade {
        order_id: need(params, "OrderID")?.to_string(),
        status: TranStatus::parse(need(params, "Status")?).ok_or(Malformed("Status"))?,
        process_date: get(params, "ProcessDate").unwrap_or("").to_string(),
        job_cd: get(params, "JobCd").unwrap_or("").to_string(),
        access: read_access(params)?,
        amount: need(params, "Amount")?
            .parse()
            .map_err(|_| Malformed("Amount"))?,
        card_no: get(params, "CardNo").unwrap_or("").to_string(),
        forward: get(params, "Forward").unwrap_or("").to_string(),
        approve: get(params, "Approve").unwrap_or("").to_string(),
        tran_id: get(params, "TranID").unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gmo::codec::decode_response;

    #[test]
    fn entry_tran_sends_no_amount_for_a_card_check() {
        let auth = ShopAuth {
            shop_id: "tshop0001".into(),
            shop_pass: "pass".into(),
        };
        let keys = |job| {
            entry_tran(&auth, "o-1", job, 1_500)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(JobCd::Check),
            ["ShopID", "ShopPass", "OrderID", "JobCd"]
        );
        assert!(keys(JobCd::Auth).contains(&"Amount".to_string()));
    }

    #[test]
    fn order_ids() {
        assert_eq!(order_id_error("ord-20261122-0001"), None);
        assert_eq!(order_id_error(""), Some("E01040001"));
        assert_eq!(order_id_error(&"a".repeat(28)), Some("E01040003"));
        assert_eq!(order_id_error("ord_1"), Some("E01040013"));
        assert_eq!(order_id_error("注文1"), Some("E01040013"));
    }

    #[test]
    fn reads_recorded_answers() {
        let entry = decode_response(b"AccessID=3618be802c7ac572414274731e50cb6c&AccessPass=4099664bd4b110800e09805539d1d7b5").expect("ok");
        let Ok(Answer::Ok(a)) = read(&entry, read_access) else {
            panic!("entry")
        };
        assert_eq!(a.access_id, "3618be802c7ac572414274731e50cb6c");

        let exec = decode_response(b"ACS=0&OrderID=1362106991&Forward=2a99662&Method=1&PayTimes=&Approve=6416276&TranID=1303011202111111111111198895&TranDate=20130301120312&CheckString=2d8fa5d3a220a34161d18a87e9cbfd75").expect("ok");
        let Ok(Answer::Ok(ExecResult::Authorized(au))) = read(&exec, read_exec) else {
            panic!("exec")
        };
        assert_eq!(au.approve, "6416276");

        let err = decode_response(b"ErrCode=EX1&ErrInfo=EX1000301").expect("ok");
        let Ok(Answer::Err(e)) = read(&err, read_exec) else {
            panic!("err")
        };
        assert!(e.contains("EX1000301"));

        let trade = decode_response(b"OrderID=x1&Status=AUTH&ProcessDate=20130420044346&JobCd=AUTH&AccessID=a&AccessPass=b&ItemCode=0000990&Amount=1000&Tax=0&SiteID=&MemberID=&CardNo=************1111&Expire=1405&Method=1&PayTimes=&Forward=2a99662&TranID=1304200441111111111111193613&Approve=6712106&ClientField1=&ClientField2=&ClientField3=").expect("ok");
        let Ok(Answer::Ok(t)) = read(&trade, read_trade) else {
            panic!("trade")
        };
        assert_eq!((t.status, t.amount), (TranStatus::Auth, 1000));
    }

    #[test]
    fn malformed_success_is_not_success() {
        let exec = decode_response(b"ACS=0&OrderID=1").expect("ok");
        assert!(read(&exec, read_exec).is_err());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let auth = ShopAuth {
            shop_id: "tshop1".into(),
            shop_pass: "sekrit".into(),
        };
        assert!(!format!("{auth:?}").contains("sekrit"));
        let acc = Access {
            access_id: "a".into(),
            access_pass: "sekrit".into(),
        };
        assert!(!format!("{acc:?}").contains("sekrit"));
    }
}
