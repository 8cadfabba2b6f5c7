//! The sandbox's memory: clock, shop transactions, tokens, request log, faults.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use kessai_core::gmo::installments::InstallmentPlan;
use kessai_core::gmo::status::{JobCd, TranStatus};
use kessai_core::gmo::tds2::{CallbackType, Tds2Type, TransStatus};
use kessai_core::jst::UnixMillis;
use md5::{Digest, Md5};
use serde::Serialize;

use crate::SandboxConfig;

/// Tokens are single-use and expire 30 minutes after issue (reference §1a, [S] hapicode).
pub const TOKEN_LIFETIME_MINUTES: i64 = 30;

/// The injected clock: real time unless frozen by a test, plus an offset tests advance.
#[derive(Debug, Default)]
pub struct Clock {
    frozen_ms: Option<i64>,
    offset_ms: i64,
}

impl Clock {
    pub fn now(&self) -> UnixMillis {
        let base = self.frozen_ms.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        });
        UnixMillis(base.saturating_add(self.offset_ms))
    }
    /// Freezes the clock at `ms` (it no longer moves by itself).
    pub fn set(&mut self, ms: i64) {
        self.frozen_ms = Some(ms);
        self.offset_ms = 0;
    }
    pub fn advance_ms(&mut self, ms: i64) {
        self.offset_ms = self.offset_ms.saturating_add(ms);
    }
    /// Back to real time.
    pub fn reset(&mut self) {
        *self = Clock::default();
    }
    pub fn frozen(&self) -> bool {
        self.frozen_ms.is_some()
    }
    /// A test control's change, in this order: back to real time (`real`), frozen at
    /// `set_unix_ms`, then moved by each advance in turn.
    pub fn apply_control(&mut self, change: &ClockChange) {
        if change.real == Some(true) {
            self.reset();
        }
        if let Some(ms) = change.set_unix_ms {
            self.set(ms);
        }
        let advances = [
            change.advance_minutes.map(|m| m.saturating_mul(60_000)),
            change.advance_days.map(|d| d.saturating_mul(86_400_000)),
            change.advance_ms,
        ];
        for ms in advances.iter().flatten() {
            self.advance_ms(*ms);
        }
    }
}

/// The body of both sandboxes' `POST …/clock` control: `{"set_unix_ms":N}` (freezes there),
/// `{"advance_ms":N}`, `{"advance_minutes":N}`, `{"advance_days":N}` or `{"real":true}`.
/// Unknown fields are refused, so a mistyped control fails instead of doing nothing.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    pub advance_minutes: Option<i64>,
    pub advance_days: Option<i64>,
    pub advance_ms: Option<i64>,
    pub set_unix_ms: Option<i64>,
    /// `true`: back to real time.
    pub real: Option<bool>,
}

/// Takes one use of the first armed fault (uses left, per `uses_left`) that `armed_for`
/// accepts; a fault whose uses run out is disarmed. Returns the fault as it was armed then.
pub fn take_fault_use<F: Clone>(
    faults: &mut Vec<F>,
    uses_left: fn(&mut F) -> &mut u32,
    armed_for: impl Fn(&F) -> bool,
) -> Option<F> {
    let i = faults
        .iter_mut()
        .position(|f| armed_for(f) && *uses_left(f) > 0)?;
    let f = &mut faults[i];
    *uses_left(f) -= 1;
    let out = f.clone();
    if *uses_left(f) == 0 {
        faults.remove(i);
    }
    Some(out)
}

/// What a token stands for. Held only in memory; never logged or returned in clear.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub shop_id: String,
    pub card_no: String,
    /// GMO `Expire` form, `YYMM`.
    pub expire: String,
    pub has_cvc: bool,
    pub holder: String,
    pub issued_at: UnixMillis,
    pub used: bool,
    /// `E92000001` answers already given for this token (test card BUSY).
    pub busy_answers: u32,
}

/// The card as a transaction keeps it (masked like SearchTrade shows it).
#[derive(Debug, Clone, Serialize)]
pub struct TradeCard {
    pub card_no: String,
    pub expire: String,
    pub brand: &'static str,
    pub holder_name: String,
    pub security_code_set: bool,
}

/// The card behind a consumed token, as the authorisation needs it (full number: never
/// serialised).
#[derive(Debug, Clone)]
pub struct CardData {
    pub card_no: String,
    pub expire: String,
    pub has_cvc: bool,
    pub holder: String,
}

/// A 3-D Secure 2 authentication started by ExecTran (ACS=2) and not yet finished by
/// SecureTran2. The browser walks RedirectUrl → device (method) step → frictionless result or
/// challenge → back to RetUrl.
#[derive(Debug, Clone, Serialize)]
pub struct Tds2Pending {
    pub trans_id: String,
    #[serde(skip)]
    pub t: String,
    pub ret_url: String,
    /// POST (`1`) or GET (`3`) back to RetUrl.
    #[serde(serialize_with = "ser_callback")]
    pub callback_type: CallbackType,
    /// When ExecTran answered ACS=2: the abandonment timeout runs from here.
    #[serde(serialize_with = "ser_ms_plain")]
    pub started_at: UnixMillis,
    /// What the browser's device step sent (the sandbox keeps it only to show it in
    /// `/__sandbox/trades`, e.g. that the page's script ran).
    pub device: Option<BTreeMap<String, String>>,
    /// The one-time code and tries left, once the issuer asked for a challenge.
    pub challenge: Option<Challenge>,
    /// The EMV outcome (`Y`/`A`/`N`/`U`/`R`), once decided.
    #[serde(serialize_with = "ser_status")]
    pub result: Option<TransStatus>,
    /// The browser was sent back to RetUrl (SecureTran2 is possible from then on).
    pub returned: bool,
    #[serde(skip)]
    pub card: CardData,
    pub exec: ExecOptions,
}

/// A challenge in progress. The code is shown on the page itself (a sandbox hint).
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    #[serde(skip)]
    pub code: String,
    pub tries_left: u32,
}

/// Why a 3-D Secure 2 authentication is no longer pending (what its pages say afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tds2Closed {
    /// SecureTran2 authorised (or committed the authorisation).
    Authorized,
    /// SecureTran2 refused it (N/R/U, or the issuer declined the authorisation).
    Failed,
    /// Abandoned: the timeout passed before SecureTran2.
    Expired,
    /// A new ExecTran on the same AccessID started another one.
    Replaced,
}

fn ser_callback<S: serde::Serializer>(v: &CallbackType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

fn ser_tds2_type<S: serde::Serializer>(v: &Tds2Type, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

fn ser_ms_plain<S: serde::Serializer>(v: &UnixMillis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(v.0)
}

fn ser_status<S: serde::Serializer>(v: &Option<TransStatus>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.serialize_some(t.as_str()),
        None => s.serialize_none(),
    }
}

/// ExecTran parameters the authorisation (now or after 3-D Secure) needs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExecOptions {
    pub method: String,
    pub pay_times: String,
    pub client_fields: [String; 3],
    pub client_field_flag: bool,
    /// The stored card paid with (ExecTran with SiteID/MemberID/CardSeq), for SearchTrade.
    pub member: Option<MemberRef>,
}

/// Which member's stored card a transaction was paid with (SearchTrade's SiteID/MemberID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRef {
    pub site_id: String,
    pub member_id: String,
    /// Logical CardSeq (SeqMode=0), whatever the mode ExecTran named it in.
    pub card_seq: u32,
}

/// A member of the site (SaveMember). Deleting keeps the record, flagged: SearchMember shows
/// `DeleteFlag=1` and the MemberID is not free again [U].
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub deleted: bool,
    /// Index = logical CardSeq (SeqMode=0). A deleted card stays in its slot, so numbers are
    /// never reused; physical numbering (SeqMode=1) counts only the live ones.
    pub cards: Vec<SiteCard>,
}

/// A card GMO keeps for a member. The full number lives only in the sandbox's memory; every
/// answer and control shows it masked.
#[derive(Debug, Clone)]
pub struct SiteCard {
    pub default: bool,
    /// `CardName` (カード会社略称), as the shop gave it.
    pub name: String,
    pub card_no: String,
    /// `YYMM`.
    pub expire: String,
    pub holder: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    pub api: &'static str,
    pub job_cd: String,
    /// `OK` or the ErrInfo answered.
    pub result: String,
    pub tran_id: String,
}

/// One transaction (one OrderID), as the gateway stores it.
#[derive(Debug, Clone, Serialize)]
pub struct Trade {
    pub order_id: String,
    pub access_id: String,
    pub access_pass: String,
    pub status: TranStatus,
    /// `JobCd` as SearchTrade reports it: the last operation's.
    pub job_cd: JobCd,
    /// `JobCd` of EntryTran: what ExecTran executes.
    pub entry_job_cd: JobCd,
    pub amount: i64,
    pub tax: i64,
    pub item_code: String,
    pub td_flag: String,
    /// EntryTran `Tds2Type` (`1` default: 3-D Secure 1 fallback, `2` refuse, `3` plain auth).
    #[serde(serialize_with = "ser_tds2_type")]
    pub tds2_type: Tds2Type,
    /// The shop name of `TdTenantName` (decoded), shown on the challenge page.
    pub tenant_name: Option<String>,
    /// The last 3-D Secure 2 outcome and ECI SecureTran2 saw [U: GMO's names].
    pub tds2_result: Option<String>,
    pub tds2_eci: Option<String>,
    pub method: String,
    pub pay_times: String,
    pub card: Option<TradeCard>,
    /// The card the authorisation used, in full (TradedCard stores it). Never serialised.
    #[serde(skip)]
    pub paid_card: Option<CardData>,
    /// Set when paid with a member's stored card.
    pub member: Option<MemberRef>,
    pub forward: String,
    pub approve: String,
    pub tran_id: String,
    /// `yyyyMMddHHmmss` JST of the last operation with a TranDate.
    pub tran_date: String,
    pub process_date: String,
    /// When ExecTran (or 3-D Secure) first authorised: the 180-day limit runs from here [U].
    #[serde(serialize_with = "ser_ms")]
    pub executed_at: Option<UnixMillis>,
    /// Start of the authorisation validity window (auth, re-auth, ChangeTran) [U for ChangeTran].
    #[serde(serialize_with = "ser_ms")]
    pub auth_at: Option<UnixMillis>,
    #[serde(serialize_with = "ser_ms")]
    pub last_tran_at: Option<UnixMillis>,
    pub client_fields: [String; 3],
    pub tds2: Option<Tds2Pending>,
    pub history: Vec<HistoryEntry>,
}

fn ser_ms<S: serde::Serializer>(v: &Option<UnixMillis>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(m) => s.serialize_some(&m.0),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub at_unix_ms: i64,
    pub api: String,
    pub order_id: String,
    /// Request parameters with passwords, tokens and card data masked.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// `OK`, `ACS=2`, or the `|`-joined ErrInfo answered.
    pub result: String,
    pub delayed_ms: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Fault {
    pub api: String,
    pub delay_ms: u64,
    pub times: u32,
    /// Answer this ErrInfo (token API: this resultCode) without executing anything (unless
    /// `commit`).
    pub err_info: Option<String>,
    /// With `err_info`: execute the call first (the change is committed at "GMO"), then answer
    /// the error, as an E90/E91/42C whose outcome GMO leaves unknown may have done.
    pub commit: bool,
    /// The caller's own label (e.g. the soak's fault kind), shown by `GET /__sandbox/faults`.
    pub tag: Option<String>,
    /// Only calls about this OrderID trip the fault (any call when `None`).
    pub order_id: Option<String>,
    /// Execute only after the delay (the request is still running at "GMO" when the client
    /// gives up), instead of executing at once and answering late.
    pub execute_late: bool,
}

pub struct State {
    pub cfg: SandboxConfig,
    pub base_url: String,
    pub clock: Clock,
    /// Every OrderID ever reserved by this shop, including failed attempts: unique forever.
    pub order_ids: HashSet<String>,
    pub trades: HashMap<String, Trade>,
    /// AccessID → OrderID.
    pub by_access: HashMap<String, String>,
    /// 3-D Secure transId → OrderID.
    pub by_trans_id: HashMap<String, String>,
    /// 3-D Secure transIds no longer pending, and why.
    pub tds2_closed: HashMap<String, (Tds2Closed, String)>,
    /// The shop is contracted as 3D必須 (EntryTran without TdFlag=2 → E01080101). Starts as
    /// `cfg.tds_required`; `/__sandbox/shop` switches it, reset restores it.
    pub tds_required: bool,
    pub tokens: HashMap<String, StoredToken>,
    /// The site's members by MemberID.
    pub members: HashMap<String, Member>,
    /// 支払回数 the card contract allows beyond 一括. Starts as `cfg.installments`;
    /// `/__sandbox/shop` changes it, reset restores it.
    pub installments: InstallmentPlan,
    /// Cards the simulated issuer now declines, with the code (a card that paid yesterday
    /// may be over its limit today): `/__sandbox/shop {"issuer_declines": …}`, reset clears.
    pub issuer_declines: HashMap<String, &'static str>,
    pub log: Vec<LogEntry>,
    pub faults: Vec<Fault>,
    seq: u64,
    tran_seq: u32,
}

impl State {
    pub fn new(cfg: SandboxConfig, base_url: String) -> State {
        let start = u32::try_from(random_u64() % 900_000).unwrap_or(0);
        let tds_required = cfg.tds_required;
        let installments = cfg.installments.clone();
        State {
            cfg,
            base_url,
            clock: Clock::default(),
            order_ids: HashSet::new(),
            trades: HashMap::new(),
            by_access: HashMap::new(),
            by_trans_id: HashMap::new(),
            tds2_closed: HashMap::new(),
            tds_required,
            tokens: HashMap::new(),
            members: HashMap::new(),
            installments,
            issuer_declines: HashMap::new(),
            log: Vec::new(),
            faults: Vec::new(),
            seq: 0,
            tran_seq: start,
        }
    }

    pub fn reset(&mut self) {
        let cfg = self.cfg.clone();
        let base = self.base_url.clone();
        *self = State::new(cfg, base);
    }

    pub fn now(&self) -> UnixMillis {
        self.clock.now()
    }

    /// Takes one use of the first fault armed for `api` (and, if the fault names one, for this
    /// OrderID, so parallel tests sharing a sandbox do not trip over each other's faults).
    pub fn take_fault(&mut self, api: &str, order_id: Option<&str>) -> Option<Fault> {
        take_fault_use(
            &mut self.faults,
            |f| &mut f.times,
            |f| {
                f.api.eq_ignore_ascii_case(api)
                    && (f.order_id.is_none() || f.order_id.as_deref() == order_id)
            },
        )
    }

    pub fn record(
        &mut self,
        api: &str,
        order_id: String,
        params: serde_json::Map<String, serde_json::Value>,
        result: String,
        delayed_ms: u64,
    ) {
        self.seq += 1;
        let at = self.now().0;
        self.log.push(LogEntry {
            seq: self.seq,
            at_unix_ms: at,
            api: api.to_string(),
            order_id,
            params,
            result,
            delayed_ms,
        });
    }

    /// A new TranID: JST `YYMMDDhhmm` + `111111111111` + 6 digits (the test host's shape).
    pub fn new_tran_id(&mut self) -> String {
        self.tran_seq = (self.tran_seq + 1) % 1_000_000;
        let d = self.now().to_jst().gmo_format();
        format!("{}111111111111{:06}", &d[2..12], self.tran_seq)
    }

    pub fn trade_by_access(&self, access_id: &str, access_pass: &str) -> Option<&Trade> {
        let order = self.by_access.get(access_id)?;
        self.trades
            .get(order)
            .filter(|t| t.access_pass == access_pass)
    }
}

/// Operating-system randomness, with a time-and-counter fallback that is still unpredictable
/// enough for a local simulator if the OS source ever fails.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if getrandom::fill(&mut buf).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static CTR: AtomicU64 = AtomicU64::new(0);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let c = CTR.fetch_add(1, Ordering::Relaxed);
            let mut h = Md5::new();
            h.update(nanos.to_le_bytes());
            h.update(c.to_le_bytes());
            h.update(std::process::id().to_le_bytes());
            out.extend_from_slice(&h.finalize());
        }
        out.truncate(n);
        return out;
    }
    buf
}

pub fn random_u64() -> u64 {
    let b = random_bytes(8);
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

pub fn random_hex(n_chars: usize) -> String {
    random_bytes(n_chars.div_ceil(2))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..n_chars]
        .to_string()
}

/// `n` random characters of `[A-Za-z0-9]` (rejection sampling: no modulo bias).
pub fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

/// `n` random decimal digits.
pub fn random_digits(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            if b < 250 && out.len() < n {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

pub fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SearchTrade's mask: all but the last 4 digits (`************1111`).
pub fn mask_last4(card_no: &str) -> String {
    let n = card_no.chars().count();
    let keep = n.min(4);
    let tail: String = card_no.chars().skip(n - keep).collect();
    format!("{}{tail}", "*".repeat(n - keep))
}

/// The Site API's mask (SaveCard, SearchCard): all but the last 3 digits
/// (`*************111`, [C] the 2013 fixtures). TradedCard answers SearchTrade's last-4 mask.
pub fn mask_last3(card_no: &str) -> String {
    let n = card_no.chars().count();
    let keep = n.min(3);
    let tail: String = card_no.chars().skip(n - keep).collect();
    format!("{}{tail}", "*".repeat(n - keep))
}

/// Token JS mask: first 6 and last 4 (`411111******1111`).
pub fn mask_6_4(card_no: &str) -> String {
    let n = card_no.len();
    if n <= 10 || !card_no.is_ascii() {
        return mask_last4(card_no);
    }
    format!(
        "{}{}{}",
        &card_no[..6],
        "*".repeat(n - 10),
        &card_no[n - 4..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_last4("4111111111111111"), "************1111");
        assert_eq!(mask_last4("378282246310005"), "***********0005");
        assert_eq!(mask_last3("4111111111111111"), "*************111");
        assert_eq!(mask_last3("12"), "12");
        assert_eq!(mask_6_4("4111111111111111"), "411111******1111");
        assert_eq!(mask_6_4("378282246310005"), "378282*****0005");
    }

    #[test]
    fn randomness_shapes() {
        let a = random_alnum(64);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, random_alnum(64));
        let h = random_hex(32);
        assert_eq!(h.len(), 32);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(random_digits(7).len(), 7);
    }

    #[test]
    fn md5_known_vector() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn tran_id_shape() {
        let mut st = State::new(SandboxConfig::default(), String::new());
        st.clock.set(1_795_359_600_000); // 2026-11-23 00:00:00 JST
        let id = st.new_tran_id();
        assert_eq!(id.len(), 28);
        assert!(id.starts_with("2611230000111111111111"));
        assert_ne!(id, st.new_tran_id());
    }
}
