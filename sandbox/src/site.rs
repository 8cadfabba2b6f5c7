//! GMO's Site API (会員・カード): members of the sandbox's one site and the cards GMO keeps for
//! them, plus the pieces ExecTran needs to pay with a stored card (reference §2b: SaveMember,
//! UpdateMember, SearchMember, DeleteMember, SaveCard, SearchCard, DeleteCard, TradedCard).
//!
//! Requests and answers are the protocol API's (CP932 form in, raw `Key=Value&…` out, errors
//! collected in GMO's parameter order). Error codes not in the reference's tables come from
//! GMO's error list as the reference's SDK source transcribes it (`src/error/errors.ts`, list
//! v1.72): E01190001/8 SiteID, E01200001/8 SitePass, E01220001/5/8 MemberID, E01230006 CardSeq,
//! E01130012 CardName, E01430012 MemberName, E01440008 DefaultFlag, E01470008 SeqMode,
//! E01480008 HolderName, E01110010 trade not finished, E01630010 TradedCard member mismatch
//! ([S]: a secondary transcription; when GMO answers each is [U] unless said otherwise).
//!
//! Card numbers: a stored card keeps its full number in the sandbox's memory only (tokens were
//! the way in; nothing is logged or answered in clear). SaveCard and SearchCard show the last
//! three digits (`*************111`, [C] the 2013 fixtures), TradedCard the last four
//! (`************1111`, [C] its fixture).

use kessai_core::gmo::codec::Params;
use kessai_core::gmo::status::TranStatus;
use serde_json::{Value, json};

use crate::protocol::{
    FORWARD, Pairs, Reply, check_shop, cp932_len, issuer_outcome, pair, take_token, val,
};
use crate::state::{CardData, Member, MemberRef, SiteCard, State, mask_last3, mask_last4};
use crate::test_cards::Outcome;

/// Cards per member ([S] 10, a PHP port's comment in the reference). In logical numbering a
/// deleted card keeps its slot, so it counts [U]: numbers are never reused, and GMO's text for
/// E01230009 is "カード登録連番が最大登録可能数を超えています" (the number, not the live count).
pub const MAX_CARDS: usize = 10;
/// MemberID length limit ([S] reference §2b).
const MEMBER_ID_MAX: usize = 60;
/// [U] byte limits (CP932) of MemberName and CardName (カード会社略称); HolderName is ≤ 50
/// characters like the token JS's `holdername` (reference §1a).
const MEMBER_NAME_MAX_BYTES: usize = 255;
const CARD_NAME_MAX_BYTES: usize = 10;
const HOLDER_NAME_MAX: usize = 50;

pub(crate) const SITE_NOT_FOUND: &str = "E01210002";
pub(crate) const MEMBER_NOT_FOUND: &str = "E01390002";
pub(crate) const MEMBER_EXISTS: &str = "E01390010";
pub(crate) const CARD_NOT_FOUND: &str = "E01240002";
pub(crate) const TOO_MANY_CARDS: &str = "E01230009";
/// TradedCard of a transaction that is not (or no longer) authorised: "指定された取引は決済が
/// 完了していません" [S code; U that GMO answers it here].
pub(crate) const TRADE_NOT_FINISHED: &str = "E01110010";
/// TradedCard naming another member than the one the transaction was paid by [S code, U when].
pub(crate) const TRADE_MEMBER_MISMATCH: &str = "E01630010";

/// `SeqMode`: how CardSeq numbers a member's cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqMode {
    /// `0` (default): every card ever stored keeps its number; deleted ones show DeleteFlag=1.
    Logical,
    /// `1`: only live cards, numbered 0, 1, 2… in the order they were stored.
    Physical,
}

/// A stored card as ExecTran names it (the site already checked).
#[derive(Debug, Clone)]
pub(crate) struct CardRef {
    member_id: String,
    mode: SeqMode,
    card_seq: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Parameter checks

/// SiteID/SitePass: format, then existence (`E01210002` 指定されたIDとパスワードのサイトが存在
/// しません). True when they name this sandbox's site. [U] missing → E01190001 / E01200001 and
/// malformed → E01190008 / E01200008 (GMO's list [S]; the reference gives none); the formats are
/// taken from ShopID (≤ 13 alphanumerics) and ShopPass (≤ 10) [U].
pub(crate) fn check_site(st: &State, params: &Params, errs: &mut Vec<&'static str>) -> bool {
    let id = val(params, "SiteID");
    let pass = val(params, "SitePass");
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut formats_ok = true;
    if id.is_empty() {
        errs.push("E01190001");
        formats_ok = false;
    } else if id.len() > 13 || !alnum(id) {
        errs.push("E01190008");
        formats_ok = false;
    }
    if pass.is_empty() {
        errs.push("E01200001");
        formats_ok = false;
    } else if pass.len() > 10 || !alnum(pass) {
        errs.push("E01200008");
        formats_ok = false;
    }
    if formats_ok && (id != st.cfg.site_id || pass != st.cfg.site_pass) {
        errs.push(SITE_NOT_FOUND);
        return false;
    }
    formats_ok
}

/// MemberID: required (E01220001), ≤ 60 characters (E01220005, [S] limit), of half-width
/// alphanumerics and `-_.@` (E01220008, [U] GMO's exact character set).
fn check_member_id<'p>(params: &'p Params, errs: &mut Vec<&'static str>) -> Option<&'p str> {
    let id = val(params, "MemberID");
    if id.is_empty() {
        errs.push("E01220001");
        return None;
    }
    if id.chars().count() > MEMBER_ID_MAX {
        errs.push("E01220005");
        return None;
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
    {
        errs.push("E01220008");
        return None;
    }
    Some(id)
}

/// `SeqMode`: empty or `0` logical, `1` physical, else E01470008.
fn check_seq_mode(params: &Params, errs: &mut Vec<&'static str>) -> Option<SeqMode> {
    match val(params, "SeqMode") {
        "" | "0" => Some(SeqMode::Logical),
        "1" => Some(SeqMode::Physical),
        _ => {
            errs.push("E01470008");
            None
        }
    }
}

/// `CardSeq`: `Some(None)` when not given, `Some(Some(n))` for digits, `None` (E01230006)
/// otherwise. A number too large for u32 can name no card: it reads as u32::MAX (not found).
fn check_card_seq(params: &Params, errs: &mut Vec<&'static str>) -> Option<Option<u32>> {
    match val(params, "CardSeq") {
        "" => Some(None),
        v if v.bytes().all(|b| b.is_ascii_digit()) => Some(Some(v.parse().unwrap_or(u32::MAX))),
        _ => {
            errs.push("E01230006");
            None
        }
    }
}

/// `DefaultFlag` (洗替・継続課金フラグ): empty or `0` no, `1` yes, else E01440008.
fn check_default_flag(params: &Params, errs: &mut Vec<&'static str>) -> Option<bool> {
    match val(params, "DefaultFlag") {
        "" | "0" => Some(false),
        "1" => Some(true),
        _ => {
            errs.push("E01440008");
            None
        }
    }
}

/// A free-text value the raw answers carry unescaped: at most `max_bytes` CP932 bytes and none
/// of `&`, `=`, `|` (they would break `Key=Value&…` and the `|`-joined columns) [U: GMO's own
/// character rules are not in the reference], else `code`.
fn check_text(
    v: &str,
    max_bytes: usize,
    code: &'static str,
    errs: &mut Vec<&'static str>,
) -> Option<String> {
    if cp932_len(v) > max_bytes || v.contains(['&', '=', '|']) {
        errs.push(code);
        return None;
    }
    Some(v.to_string())
}

/// `HolderName`: ≤ 50 characters (E01480011, reference §3b) of printable ASCII (E01480008, [U]
/// the exact set; `&=|` refused as in [`check_text`]).
fn check_holder(params: &Params, errs: &mut Vec<&'static str>) -> Option<String> {
    let v = val(params, "HolderName");
    if v.chars().count() > HOLDER_NAME_MAX {
        errs.push("E01480011");
        return None;
    }
    if !v.bytes().all(|b| (b' '..=b'~').contains(&b)) || v.contains(['&', '=', '|']) {
        errs.push("E01480008");
        return None;
    }
    Some(v.to_string())
}

// ---------------------------------------------------------------------------------------------
// Members and card numbering

/// A member that exists and is not deleted; E01390002 otherwise (a deleted member is gone for
/// every operation but SearchMember [U]).
fn live_member<'s>(st: &'s mut State, member_id: &str) -> Result<&'s mut Member, &'static str> {
    st.members
        .get_mut(member_id)
        .filter(|m| !m.deleted)
        .ok_or(MEMBER_NOT_FOUND)
}

/// The slot (logical index) `n` names in `mode`; deleted cards are found in logical mode only.
fn resolve(member: &Member, mode: SeqMode, n: u32) -> Option<usize> {
    let n = usize::try_from(n).ok()?;
    match mode {
        SeqMode::Logical => (n < member.cards.len()).then_some(n),
        SeqMode::Physical => member
            .cards
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.deleted)
            .nth(n)
            .map(|(i, _)| i),
    }
}

/// The CardSeq of slot `idx` in `mode` (physical: live cards before it).
fn number_of(member: &Member, idx: usize, mode: SeqMode) -> u32 {
    let n = match mode {
        SeqMode::Logical => idx,
        SeqMode::Physical => member.cards[..idx.min(member.cards.len())]
            .iter()
            .filter(|c| !c.deleted)
            .count(),
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Stores `card` in slot `at` (an update) or a new slot; `DefaultFlag=1` makes it the only
/// default. Returns its slot.
fn store_card(member: &mut Member, card: SiteCard, at: Option<usize>) -> usize {
    if card.default {
        for c in &mut member.cards {
            c.default = false;
        }
    }
    match at.filter(|i| *i < member.cards.len()) {
        Some(i) => {
            member.cards[i] = card;
            i
        }
        None => {
            member.cards.push(card);
            member.cards.len() - 1
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SaveMember / UpdateMember / SearchMember / DeleteMember

/// The common part of the member APIs: the site and the MemberID (plus MemberName when `named`).
fn member_params<'p>(
    st: &State,
    params: &'p Params,
    named: bool,
) -> Result<(&'p str, String), Reply> {
    let mut errs = Vec::new();
    let site_ok = check_site(st, params, &mut errs);
    let member_id = check_member_id(params, &mut errs);
    let name = if named {
        check_text(
            val(params, "MemberName"),
            MEMBER_NAME_MAX_BYTES,
            "E01430012",
            &mut errs,
        )
    } else {
        Some(String::new())
    };
    match (site_ok, member_id, name, errs.is_empty()) {
        (true, Some(id), Some(name), true) => Ok((id, name)),
        _ => Err(Reply::err(&errs, "")),
    }
}

/// SaveMember: a new MemberID (E01390010 if it exists, deleted or not [U]).
pub(crate) fn save_member(st: &mut State, params: &Params) -> Reply {
    let (member_id, name) = match member_params(st, params, true) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    if st.members.contains_key(member_id) {
        return Reply::err(&[MEMBER_EXISTS], "");
    }
    let member = Member {
        name,
        deleted: false,
        cards: Vec::new(),
    };
    st.members.insert(member_id.to_string(), member);
    Reply::ok(vec![pair("MemberID", member_id)], "")
}

/// UpdateMember: a new MemberName for a live member.
pub(crate) fn update_member(st: &mut State, params: &Params) -> Reply {
    let (member_id, name) = match member_params(st, params, true) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    match live_member(st, member_id) {
        Ok(m) => m.name = name,
        Err(code) => return Reply::err(&[code], ""),
    }
    Reply::ok(vec![pair("MemberID", member_id)], "")
}

/// SearchMember: `MemberID, MemberName, DeleteFlag` ([C] fixture), a deleted member included
/// with DeleteFlag=1 [U].
pub(crate) fn search_member(st: &mut State, params: &Params) -> Reply {
    let (member_id, _) = match member_params(st, params, false) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    let Some(m) = st.members.get(member_id) else {
        return Reply::err(&[MEMBER_NOT_FOUND], "");
    };
    let flag = if m.deleted { "1" } else { "0" };
    Reply::ok(
        vec![
            pair("MemberID", member_id),
            pair("MemberName", m.name.clone()),
            pair("DeleteFlag", flag),
        ],
        "",
    )
}

/// DeleteMember: the member and its cards are flagged deleted (E01390002 if already).
pub(crate) fn delete_member(st: &mut State, params: &Params) -> Reply {
    let (member_id, _) = match member_params(st, params, false) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    match live_member(st, member_id) {
        Ok(m) => {
            m.deleted = true;
            for c in &mut m.cards {
                c.deleted = true;
                c.default = false;
            }
        }
        Err(code) => return Reply::err(&[code], ""),
    }
    Reply::ok(vec![pair("MemberID", member_id)], "")
}

// ---------------------------------------------------------------------------------------------
// SaveCard

/// SaveCard's valid parameters.
struct CardWrite {
    member_id: String,
    mode: SeqMode,
    card_seq: Option<u32>,
    default: bool,
    name: String,
    holder: String,
}

fn save_card_params(st: &State, params: &Params) -> Result<CardWrite, Reply> {
    let mut errs = Vec::new();
    let site_ok = check_site(st, params, &mut errs);
    let member_id = check_member_id(params, &mut errs);
    let mode = check_seq_mode(params, &mut errs);
    let card_seq = check_card_seq(params, &mut errs);
    let default = check_default_flag(params, &mut errs);
    let name = check_text(
        val(params, "CardName"),
        CARD_NAME_MAX_BYTES,
        "E01130012",
        &mut errs,
    );
    // Token, or a raw CardNo (refused by the contract below, like ExecTran's).
    if val(params, "Token").is_empty() && val(params, "CardNo").is_empty() {
        errs.push("E01170001");
    }
    let holder = check_holder(params, &mut errs);
    match (site_ok, member_id, mode, card_seq, default, name, holder) {
        (true, Some(id), Some(mode), Some(card_seq), Some(default), Some(name), Some(holder))
            if errs.is_empty() =>
        {
            Ok(CardWrite {
                member_id: id.to_string(),
                mode,
                card_seq,
                default,
                name,
                holder,
            })
        }
        _ => Err(Reply::err(&errs, "")),
    }
}

/// SaveCard: stores the card behind a single-use token (token checks and codes as ExecTran's),
/// after the issuer's check: a declined test card is refused with the code it gets at ExecTran
/// and nothing is stored. `CardSeq` given: replaces that live card in place. Answers `CardSeq,
/// CardNo` (last 3 digits) `, Forward`.
pub(crate) fn save_card(st: &mut State, params: &Params) -> Reply {
    let w = match save_card_params(st, params) {
        Ok(w) => w,
        Err(reply) => return reply,
    };
    let member = match live_member(st, &w.member_id) {
        Ok(m) => m,
        Err(code) => return Reply::err(&[code], ""),
    };
    let slot = match w.card_seq {
        Some(n) => match resolve(member, w.mode, n).filter(|i| !member.cards[*i].deleted) {
            Some(i) => Some(i),
            None => return Reply::err(&[CARD_NOT_FOUND], ""),
        },
        None if member.cards.len() >= MAX_CARDS => return Reply::err(&[TOO_MANY_CARDS], ""),
        None => None,
    };
    // Contract: raw card numbers are refused — tokens are mandatory ([U] for SaveCard: the
    // reference names E61040001 for ExecTran).
    if !val(params, "CardNo").is_empty() {
        return Reply::err(&["E61040001"], "");
    }
    let card = match take_token(st, val(params, "Token")) {
        Ok(card) => card,
        Err(code) => return Reply::err(&[code], ""),
    };
    // The issuer's check. A committed-then-failed test card stores the card and answers the
    // error (the outcome the client must find out with SearchCard), like its ExecTran.
    let answer_error = match issuer_outcome(st, &card) {
        Outcome::Approve | Outcome::Busy => None,
        Outcome::CommitThenFail(code) => Some(code),
        Outcome::Decline(code) => return Reply::err(&[code], ""),
    };
    let stored = SiteCard {
        default: w.default,
        name: w.name,
        // [U] an explicit HolderName wins over the one the token carries.
        holder: if w.holder.is_empty() {
            card.holder
        } else {
            w.holder
        },
        card_no: card.card_no,
        expire: card.expire,
        deleted: false,
    };
    let masked = mask_last3(&stored.card_no);
    let Ok(member) = live_member(st, &w.member_id) else {
        return Reply::err(&[MEMBER_NOT_FOUND], "");
    };
    let idx = store_card(member, stored, slot);
    if let Some(code) = answer_error {
        return Reply::err(&[code], "");
    }
    let seq = number_of(member, idx, w.mode);
    Reply::ok(saved_answer(seq, masked), "")
}

fn saved_answer(card_seq: u32, masked: String) -> Pairs {
    vec![
        pair("CardSeq", card_seq.to_string()),
        pair("CardNo", masked),
        pair("Forward", FORWARD),
    ]
}

// ---------------------------------------------------------------------------------------------
// SearchCard / DeleteCard

/// The member, mode and CardSeq of SearchCard, DeleteCard and ExecTran's stored card
/// (`SiteID+SitePass+MemberID+SeqMode+CardSeq`): their format errors and the site (E01210002),
/// collected with the API's other parameter errors.
pub(crate) fn check_card_ref(
    st: &State,
    params: &Params,
    errs: &mut Vec<&'static str>,
) -> Option<CardRef> {
    let site_ok = check_site(st, params, errs);
    let member_id = check_member_id(params, errs);
    let mode = check_seq_mode(params, errs);
    let card_seq = check_card_seq(params, errs);
    match (site_ok, member_id, mode, card_seq) {
        (true, Some(id), Some(mode), Some(card_seq)) => Some(CardRef {
            member_id: id.to_string(),
            mode,
            card_seq,
        }),
        _ => None,
    }
}

/// SearchCard: the member's cards in `SeqMode`'s numbering (logical: deleted ones too, with
/// DeleteFlag=1), or just `CardSeq`. One `|`-joined column per field, in the fixture's order
/// `CardSeq, DefaultFlag, CardName, CardNo, Expire, HolderName, DeleteFlag`. No card to show →
/// E01240002 [U: GMO may answer an empty list instead].
pub(crate) fn search_card(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    let (Some(r), true) = (check_card_ref(st, params, &mut errs), errs.is_empty()) else {
        return Reply::err(&errs, "");
    };
    let member = match live_member(st, &r.member_id) {
        Ok(m) => m,
        Err(code) => return Reply::err(&[code], ""),
    };
    let shown: Vec<(u32, &SiteCard)> = member
        .cards
        .iter()
        .enumerate()
        .filter(|(_, c)| r.mode == SeqMode::Logical || !c.deleted)
        .map(|(i, c)| (number_of(member, i, r.mode), c))
        .filter(|(n, _)| r.card_seq.is_none_or(|want| want == *n))
        .collect();
    if shown.is_empty() {
        return Reply::err(&[CARD_NOT_FOUND], "");
    }
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    let columns: [(&str, Vec<String>); 7] = [
        (
            "CardSeq",
            shown.iter().map(|(n, _)| n.to_string()).collect(),
        ),
        (
            "DefaultFlag",
            shown.iter().map(|(_, c)| flag(c.default)).collect(),
        ),
        (
            "CardName",
            shown.iter().map(|(_, c)| c.name.clone()).collect(),
        ),
        (
            "CardNo",
            shown.iter().map(|(_, c)| mask_last3(&c.card_no)).collect(),
        ),
        (
            "Expire",
            shown.iter().map(|(_, c)| c.expire.clone()).collect(),
        ),
        (
            "HolderName",
            shown.iter().map(|(_, c)| c.holder.clone()).collect(),
        ),
        (
            "DeleteFlag",
            shown.iter().map(|(_, c)| flag(c.deleted)).collect(),
        ),
    ];
    let pairs = columns
        .into_iter()
        .map(|(k, col)| pair(k, col.join("|")))
        .collect();
    Reply::ok(pairs, "")
}

/// DeleteCard: flags the card deleted (logical: it keeps its number; it stops being the
/// default [U]). Unknown, already deleted or no CardSeq → E01240002 [U for the missing one].
pub(crate) fn delete_card(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    let (Some(r), true) = (check_card_ref(st, params, &mut errs), errs.is_empty()) else {
        return Reply::err(&errs, "");
    };
    let member = match live_member(st, &r.member_id) {
        Ok(m) => m,
        Err(code) => return Reply::err(&[code], ""),
    };
    let Some((n, idx)) = r
        .card_seq
        .and_then(|n| resolve(member, r.mode, n).map(|i| (n, i)))
        .filter(|(_, i)| !member.cards[*i].deleted)
    else {
        return Reply::err(&[CARD_NOT_FOUND], "");
    };
    let card = &mut member.cards[idx];
    card.deleted = true;
    card.default = false;
    Reply::ok(vec![pair("CardSeq", n.to_string())], "")
}

// ---------------------------------------------------------------------------------------------
// ExecTran with a stored card

/// The stored card ExecTran pays with: the member exists (E01390002), the card exists and is
/// not deleted (E01240002; [U] a missing CardSeq too, although GMO may take the default card).
/// The security code is not kept: ExecTran may send one.
pub(crate) fn stored_card(
    st: &mut State,
    r: &CardRef,
) -> Result<(CardData, MemberRef), &'static str> {
    let site_id = st.cfg.site_id.clone();
    let member = live_member(st, &r.member_id)?;
    let idx = r
        .card_seq
        .and_then(|n| resolve(member, r.mode, n))
        .filter(|i| !member.cards[*i].deleted)
        .ok_or(CARD_NOT_FOUND)?;
    let c = &member.cards[idx];
    let card = CardData {
        card_no: c.card_no.clone(),
        expire: c.expire.clone(),
        has_cvc: false,
        holder: c.holder.clone(),
    };
    let member_ref = MemberRef {
        site_id,
        member_id: r.member_id.clone(),
        card_seq: number_of(member, idx, SeqMode::Logical),
    };
    Ok((card, member_ref))
}

// ---------------------------------------------------------------------------------------------
// TradedCard

/// TradedCard's valid parameters.
struct TradedWrite {
    order_id: String,
    member_id: String,
    mode: SeqMode,
    default: bool,
    holder: String,
}

fn traded_card_params(st: &State, params: &Params) -> Result<TradedWrite, Reply> {
    let mut errs = Vec::new();
    let shop_ok = check_shop(st, params, &mut errs);
    let order_id = val(params, "OrderID");
    // [C] The fixture: TradedCard without an OrderID answers E01110002 (not E01040001), so the
    // OrderID is only looked up, as SearchTrade does for a valid shop.
    if shop_ok && !st.trades.contains_key(order_id) {
        errs.push("E01110002");
    }
    let site_ok = check_site(st, params, &mut errs);
    let member_id = check_member_id(params, &mut errs);
    let mode = check_seq_mode(params, &mut errs);
    let default = check_default_flag(params, &mut errs);
    let holder = check_holder(params, &mut errs);
    match (shop_ok, site_ok, member_id, mode, default, holder) {
        (true, true, Some(id), Some(mode), Some(default), Some(holder)) if errs.is_empty() => {
            Ok(TradedWrite {
                order_id: order_id.to_string(),
                member_id: id.to_string(),
                mode,
                default,
                holder,
            })
        }
        _ => Err(Reply::err(&errs, order_id)),
    }
}

/// Whether TradedCard may take a transaction's card: it was authorised and still stands.
/// [U] GMO's rule for cancelled (VOID/RETURN/RETURNX) transactions is not documented; they are
/// refused like unfinished ones.
fn finished(status: TranStatus) -> bool {
    match status {
        TranStatus::Auth
        | TranStatus::Capture
        | TranStatus::Sales
        | TranStatus::Check
        | TranStatus::Sauth => true,
        TranStatus::Unprocessed
        | TranStatus::Authenticated
        | TranStatus::Void
        | TranStatus::Return
        | TranStatus::Returnx => false,
    }
}

/// TradedCard: stores the card a finished transaction was paid with (a token or 3-D Secure
/// payment, reference §4c) for the member. Unfinished (UNPROCESSED, waiting for 3-D Secure) →
/// E01110010 [U]. Answers `CardSeq, CardNo` (last 4 digits, [C] fixture) `, Forward`.
pub(crate) fn traded_card(st: &mut State, params: &Params) -> Reply {
    let w = match traded_card_params(st, params) {
        Ok(w) => w,
        Err(reply) => return reply,
    };
    let order = w.order_id.as_str();
    let Some(t) = st.trades.get(order) else {
        return Reply::err(&["E01110002"], order);
    };
    let paid = t.paid_card.clone().filter(|_| finished(t.status));
    let paid_by = t.member.as_ref().map(|m| m.member_id.clone());
    let Some(paid) = paid else {
        return Reply::err(&[TRADE_NOT_FINISHED], order);
    };
    if paid_by.is_some_and(|m| m != w.member_id) {
        return Reply::err(&[TRADE_MEMBER_MISMATCH], order);
    }
    let member = match live_member(st, &w.member_id) {
        Ok(m) => m,
        Err(code) => return Reply::err(&[code], order),
    };
    if member.cards.len() >= MAX_CARDS {
        return Reply::err(&[TOO_MANY_CARDS], order);
    }
    let masked = mask_last4(&paid.card_no);
    let stored = SiteCard {
        default: w.default,
        name: String::new(),
        holder: if w.holder.is_empty() {
            paid.holder
        } else {
            w.holder
        },
        card_no: paid.card_no,
        expire: paid.expire,
        deleted: false,
    };
    let idx = store_card(member, stored, None);
    let seq = number_of(member, idx, w.mode);
    Reply::ok(saved_answer(seq, masked), order)
}

// ---------------------------------------------------------------------------------------------
// Test control

/// `GET /__sandbox/members/{id}`'s body: the member and its cards, numbers masked as SearchCard
/// shows them; `None` for a MemberID never saved.
pub(crate) fn member_json(st: &State, member_id: &str) -> Option<Value> {
    let m = st.members.get(member_id)?;
    let cards: Vec<Value> = m
        .cards
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "card_seq": i,
                "physical_seq": (!c.deleted).then(|| number_of(m, i, SeqMode::Physical)),
                "default": c.default,
                "card_name": c.name,
                "card_no": mask_last3(&c.card_no),
                "expire": c.expire,
                "holder_name": c.holder,
                "deleted": c.deleted,
            })
        })
        .collect();
    Some(json!({
        "site_id": st.cfg.site_id,
        "member_id": member_id,
        "member_name": m.name,
        "deleted": m.deleted,
        "cards": cards,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SandboxConfig;
    use crate::protocol::{METHOD_NOT_CONTRACTED, call_api};
    use crate::state::StoredToken;
    use crate::test_cards;
    use kessai_core::gmo::codec::get;

    fn sandbox() -> State {
        State::new(SandboxConfig::default(), "http://127.0.0.1:1".into())
    }

    /// A fresh token of the sandbox shop for `card` (expiry 2030-12).
    fn token(st: &mut State, card: &str) -> String {
        let token = crate::state::random_alnum(64);
        let stored = StoredToken {
            shop_id: st.cfg.shop_id.clone(),
            card_no: card.into(),
            expire: "3012".into(),
            has_cvc: true,
            holder: "TARO YAMADA".into(),
            issued_at: st.now(),
            used: false,
            busy_answers: 0,
        };
        st.tokens.insert(token.clone(), stored);
        token
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Calls a Site API with the sandbox's site credentials plus `extra`.
    fn site_call(st: &mut State, api: &str, extra: &[(&str, &str)]) -> Pairs {
        let mut p = params(&[("SiteID", "tsite00000001"), ("SitePass", "sitepass01")]);
        p.extend(params(extra));
        call_api(st, api, &p)
    }

    fn info(p: &Pairs) -> Option<&str> {
        get(p, "ErrInfo")
    }

    fn save_member(st: &mut State, member: &str) {
        let p = site_call(st, "SaveMember", &[("MemberID", member)]);
        assert_eq!(get(&p, "MemberID"), Some(member), "{p:?}");
    }

    fn save_card(st: &mut State, member: &str, card: &str, extra: &[(&str, &str)]) -> Pairs {
        let tok = token(st, card);
        let mut p = vec![("MemberID", member), ("Token", tok.as_str())];
        p.extend_from_slice(extra);
        site_call(st, "SaveCard", &p)
    }

    fn entry(st: &mut State, order: &str, job: &str) -> (String, String) {
        let p = call_api(
            st,
            "EntryTran",
            &params(&[
                ("ShopID", "tshop00000001"),
                ("ShopPass", "sandbox01"),
                ("OrderID", order),
                ("JobCd", job),
                ("Amount", "1200"),
            ]),
        );
        let a = (get(&p, "AccessID"), get(&p, "AccessPass"));
        let (Some(id), Some(pass)) = a else {
            panic!("EntryTran: {p:?}")
        };
        (id.to_string(), pass.to_string())
    }

    fn exec(
        st: &mut State,
        order: &str,
        access: &(String, String),
        extra: &[(&str, &str)],
    ) -> Pairs {
        let mut p = vec![
            ("AccessID", access.0.as_str()),
            ("AccessPass", access.1.as_str()),
            ("OrderID", order),
        ];
        p.extend_from_slice(extra);
        call_api(st, "ExecTran", &params(&p))
    }

    /// An AUTH paid with a token of `card`.
    fn paid_order(st: &mut State, order: &str, card: &str) {
        let access = entry(st, order, "AUTH");
        let tok = token(st, card);
        let p = exec(st, order, &access, &[("Method", "1"), ("Token", &tok)]);
        assert_eq!(get(&p, "ACS"), Some("0"), "{p:?}");
    }

    fn traded(st: &mut State, order: &str, member: &str) -> Pairs {
        site_call(
            st,
            "TradedCard",
            &[
                ("ShopID", "tshop00000001"),
                ("ShopPass", "sandbox01"),
                ("OrderID", order),
                ("MemberID", member),
                ("DefaultFlag", "1"),
            ],
        )
    }

    #[test]
    fn member_create_dup_search_update_delete() {
        let mut st = sandbox();
        let p = site_call(
            &mut st,
            "SaveMember",
            &[("MemberID", "km-1"), ("MemberName", "John Smith")],
        );
        assert_eq!(p, vec![pair("MemberID", "km-1")]);
        let p = site_call(&mut st, "SaveMember", &[("MemberID", "km-1")]);
        assert_eq!(info(&p), Some(MEMBER_EXISTS));
        assert_eq!(get(&p, "ErrCode"), Some("E01"));
        // The 2013 fixture's shape.
        let p = site_call(&mut st, "SearchMember", &[("MemberID", "km-1")]);
        assert_eq!(
            p,
            vec![
                pair("MemberID", "km-1"),
                pair("MemberName", "John Smith"),
                pair("DeleteFlag", "0"),
            ]
        );
        let p = site_call(
            &mut st,
            "UpdateMember",
            &[("MemberID", "km-1"), ("MemberName", "山田 太郎")],
        );
        assert_eq!(get(&p, "MemberID"), Some("km-1"));
        let p = site_call(&mut st, "SearchMember", &[("MemberID", "km-2")]);
        assert_eq!(info(&p), Some(MEMBER_NOT_FOUND));
        let p = site_call(&mut st, "DeleteMember", &[("MemberID", "km-1")]);
        assert_eq!(get(&p, "MemberID"), Some("km-1"));
        let p = site_call(&mut st, "SearchMember", &[("MemberID", "km-1")]);
        assert_eq!(get(&p, "MemberName"), Some("山田 太郎"));
        assert_eq!(get(&p, "DeleteFlag"), Some("1"));
        // Deleted: gone for everything else, and its MemberID is not free again [U].
        let p = site_call(&mut st, "DeleteMember", &[("MemberID", "km-1")]);
        assert_eq!(info(&p), Some(MEMBER_NOT_FOUND));
        let p = site_call(&mut st, "SaveMember", &[("MemberID", "km-1")]);
        assert_eq!(info(&p), Some(MEMBER_EXISTS));
    }

    #[test]
    fn member_id_and_site_checks() {
        let mut st = sandbox();
        let long = "a".repeat(61);
        for (id, code) in [
            ("", "E01220001"),
            (long.as_str(), "E01220005"),
            ("a b", "E01220008"),
        ] {
            let p = site_call(&mut st, "SaveMember", &[("MemberID", id)]);
            assert_eq!(info(&p), Some(code), "{id:?}");
        }
        assert!(
            info(&site_call(
                &mut st,
                "SaveMember",
                &[("MemberID", &"a".repeat(60))]
            ))
            .is_none()
        );
        let wrong = params(&[
            ("SiteID", "tsite00000001"),
            ("SitePass", "wrongpass1"),
            ("MemberID", "km-1"),
        ]);
        let p = call_api(&mut st, "SaveMember", &wrong);
        assert_eq!(get(&p, "ErrCode"), Some("E01"));
        assert_eq!(info(&p), Some(SITE_NOT_FOUND));
        // Missing credentials are reported together, in GMO's parameter order.
        let p = call_api(&mut st, "SearchCard", &params(&[("MemberID", "km-1")]));
        assert_eq!(info(&p), Some("E01190001|E01200001"));
        assert!(
            !st.members.contains_key("km-1"),
            "nothing saved by a refusal"
        );
    }

    #[test]
    fn save_card_with_a_token_once_and_declined_cards_are_not_stored() {
        let mut st = sandbox();
        save_member(&mut st, "km-1");
        let tok = token(&mut st, test_cards::APPROVED);
        let req = [("MemberID", "km-1"), ("Token", tok.as_str())];
        let p = site_call(&mut st, "SaveCard", &req);
        // The 2013 fixture: `CardSeq=0&CardNo=*************111&Forward=2a99662`.
        assert_eq!(
            p,
            vec![
                pair("CardSeq", "0"),
                pair("CardNo", "*************111"),
                pair("Forward", "2a99662"),
            ]
        );
        let p = site_call(&mut st, "SaveCard", &req);
        assert_eq!(
            (get(&p, "ErrCode"), info(&p)),
            (Some("EX1"), Some("EX1000302"))
        );
        let p = site_call(
            &mut st,
            "SaveCard",
            &[("MemberID", "km-1"), ("Token", "nope")],
        );
        assert_eq!(info(&p), Some("EX1000301"));
        let p = save_card(&mut st, "km-1", test_cards::INSUFFICIENT_FUNDS, &[]);
        assert_eq!(
            (get(&p, "ErrCode"), info(&p)),
            (Some("G02"), Some("42G020000"))
        );
        let p = save_card(&mut st, "nobody", test_cards::APPROVED, &[]);
        assert_eq!(info(&p), Some(MEMBER_NOT_FOUND));
        let p = site_call(&mut st, "SaveCard", &[("MemberID", "km-1")]);
        assert_eq!(info(&p), Some("E01170001"));
        let raw = [
            ("MemberID", "km-1"),
            ("CardNo", test_cards::APPROVED),
            ("Expire", "3012"),
        ];
        assert_eq!(
            info(&site_call(&mut st, "SaveCard", &raw)),
            Some("E61040001")
        );
        assert_eq!(st.members["km-1"].cards.len(), 1, "only the approved card");
    }

    #[test]
    fn ten_cards_per_member() {
        let mut st = sandbox();
        save_member(&mut st, "km-1");
        for n in 0..MAX_CARDS {
            let p = save_card(&mut st, "km-1", test_cards::APPROVED_JCB, &[]);
            assert_eq!(get(&p, "CardSeq"), Some(n.to_string().as_str()), "{p:?}");
        }
        let p = save_card(&mut st, "km-1", test_cards::APPROVED, &[]);
        assert_eq!(info(&p), Some(TOO_MANY_CARDS));
        // A deleted card keeps its slot [U], and TradedCard meets the same limit.
        site_call(
            &mut st,
            "DeleteCard",
            &[("MemberID", "km-1"), ("CardSeq", "3")],
        );
        let p = save_card(&mut st, "km-1", test_cards::APPROVED, &[]);
        assert_eq!(info(&p), Some(TOO_MANY_CARDS));
        paid_order(&mut st, "o-limit", test_cards::APPROVED);
        assert_eq!(
            info(&traded(&mut st, "o-limit", "km-1")),
            Some(TOO_MANY_CARDS)
        );
    }

    #[test]
    fn search_card_answers_column_wise_and_default_flag_moves() {
        let mut st = sandbox();
        save_member(&mut st, "km-1");
        let p = site_call(&mut st, "SearchCard", &[("MemberID", "km-1")]);
        assert_eq!(info(&p), Some(CARD_NOT_FOUND), "no cards yet [U]");
        save_card(
            &mut st,
            "km-1",
            test_cards::APPROVED,
            &[("DefaultFlag", "1")],
        );
        save_card(
            &mut st,
            "km-1",
            test_cards::APPROVED_MASTERCARD,
            &[("CardName", "MC"), ("HolderName", "HANAKO SATO")],
        );
        let p = site_call(
            &mut st,
            "SearchCard",
            &[("MemberID", "km-1"), ("SeqMode", "0")],
        );
        let body = kessai_core::gmo::codec::encode_response(&p);
        assert_eq!(
            String::from_utf8_lossy(&body),
            "CardSeq=0|1&DefaultFlag=1|0&CardName=|MC&CardNo=*************111|*************444\
             &Expire=3012|3012&HolderName=TARO YAMADA|HANAKO SATO&DeleteFlag=0|0"
        );
        // Core's reader (the edge's) reads it back.
        let cards = kessai_core::gmo::site::read_cards(&p).expect("cards");
        assert_eq!(cards.len(), 2);
        assert!(cards[0].default && !cards[1].default);
        assert_eq!(cards[1].last_digits(), "444");
        // A new default clears the old one; CardSeq narrows the answer.
        save_card(
            &mut st,
            "km-1",
            test_cards::APPROVED_JCB,
            &[("DefaultFlag", "1")],
        );
        let p = site_call(&mut st, "SearchCard", &[("MemberID", "km-1")]);
        assert_eq!(get(&p, "DefaultFlag"), Some("0|0|1"));
        let p = site_call(
            &mut st,
            "SearchCard",
            &[("MemberID", "km-1"), ("CardSeq", "1")],
        );
        assert_eq!(get(&p, "CardSeq"), Some("1"));
        assert_eq!(get(&p, "CardName"), Some("MC"));
        let p = site_call(
            &mut st,
            "SearchCard",
            &[("MemberID", "km-1"), ("SeqMode", "2")],
        );
        assert_eq!(info(&p), Some("E01470008"));
        let p = site_call(
            &mut st,
            "SearchCard",
            &[("MemberID", "km-1"), ("CardSeq", "x")],
        );
        assert_eq!(info(&p), Some("E01230006"));
    }

    #[test]
    fn a_deleted_card_keeps_its_number_and_numbers_are_not_reused() {
        let mut st = sandbox();
        save_member(&mut st, "km-1");
        for card in [
            test_cards::APPROVED,
            test_cards::APPROVED_JCB,
            test_cards::APPROVED_AMEX,
        ] {
            save_card(&mut st, "km-1", card, &[]);
        }
        let p = site_call(
            &mut st,
            "DeleteCard",
            &[("MemberID", "km-1"), ("CardSeq", "1")],
        );
        assert_eq!(p, vec![pair("CardSeq", "1")]);
        for again in ["1", "7", ""] {
            let p = site_call(
                &mut st,
                "DeleteCard",
                &[("MemberID", "km-1"), ("CardSeq", again)],
            );
            assert_eq!(info(&p), Some(CARD_NOT_FOUND), "{again:?}");
        }
        let p = site_call(&mut st, "SearchCard", &[("MemberID", "km-1")]);
        assert_eq!(get(&p, "CardSeq"), Some("0|1|2"));
        assert_eq!(get(&p, "DeleteFlag"), Some("0|1|0"));
        let p = save_card(&mut st, "km-1", test_cards::APPROVED_MASTERCARD, &[]);
        assert_eq!(get(&p, "CardSeq"), Some("3"), "not 1 again");
        // Physical numbering counts only the live cards: 0, 2, 3 become 0, 1, 2.
        let p = site_call(
            &mut st,
            "SearchCard",
            &[("MemberID", "km-1"), ("SeqMode", "1")],
        );
        assert_eq!(get(&p, "CardSeq"), Some("0|1|2"));
        assert_eq!(
            get(&p, "CardNo"),
            Some("*************111|************005|*************444")
        );
        let p = site_call(
            &mut st,
            "DeleteCard",
            &[("MemberID", "km-1"), ("SeqMode", "1"), ("CardSeq", "1")],
        );
        assert_eq!(get(&p, "CardSeq"), Some("1"));
        assert!(
            st.members["km-1"].cards[2].deleted,
            "physical 1 was logical 2"
        );
    }

    #[test]
    fn traded_card_takes_the_card_of_a_finished_trade_only() {
        let mut st = sandbox();
        save_member(&mut st, "km-1");
        paid_order(&mut st, "o-1", test_cards::APPROVED);
        // The fixture: `CardSeq=0&CardNo=************1111&Forward=2a99662`.
        assert_eq!(
            traded(&mut st, "o-1", "km-1"),
            vec![
                pair("CardSeq", "0"),
                pair("CardNo", "************1111"),
                pair("Forward", "2a99662"),
            ]
        );
        let card = &st.members["km-1"].cards[0];
        assert!(card.default && card.card_no == test_cards::APPROVED && card.expire == "3012");
        // Unknown and missing OrderID: E01110002 (the fixture's null OrderID).
        for order in ["o-unknown", ""] {
            let p = traded(&mut st, order, "km-1");
            assert_eq!(
                (get(&p, "ErrCode"), info(&p)),
                (Some("E01"), Some("E01110002"))
            );
        }
        // Not paid yet, or declined: nothing to store.
        let access = entry(&mut st, "o-2", "AUTH");
        assert_eq!(
            info(&traded(&mut st, "o-2", "km-1")),
            Some(TRADE_NOT_FINISHED)
        );
        let tok = token(&mut st, test_cards::CARD_UNUSABLE);
        exec(&mut st, "o-2", &access, &[("Method", "1"), ("Token", &tok)]);
        assert_eq!(
            info(&traded(&mut st, "o-2", "km-1")),
            Some(TRADE_NOT_FINISHED)
        );
        assert_eq!(
            info(&traded(&mut st, "o-1", "km-9")),
            Some(MEMBER_NOT_FOUND)
        );
        let mut wrong_shop = params(&[("ShopID", "tshop00000001"), ("ShopPass", "nope")]);
        wrong_shop.extend(params(&[
            ("SiteID", "tsite00000001"),
            ("SitePass", "sitepass01"),
            ("OrderID", "o-1"),
            ("MemberID", "km-1"),
        ]));
        assert_eq!(
            info(&call_api(&mut st, "TradedCard", &wrong_shop)),
            Some("E01030002")
        );
    }

    #[test]
    fn exec_tran_with_a_stored_card_authorizes_and_not_with_a_deleted_one() {
        let mut st = sandbox();
        save_member(&mut st, "km-1");
        save_card(&mut st, "km-1", test_cards::APPROVED, &[]);
        save_card(&mut st, "km-1", test_cards::APPROVED_JCB, &[]);
        let access = entry(&mut st, "o-1", "CAPTURE");
        let stored = |seq: &'static str| {
            vec![
                ("Method", "1"),
                ("SiteID", "tsite00000001"),
                ("SitePass", "sitepass01"),
                ("MemberID", "km-1"),
                ("SeqMode", "0"),
                ("CardSeq", seq),
            ]
        };
        let p = exec(&mut st, "o-1", &access, &stored("1"));
        assert_eq!(get(&p, "ACS"), Some("0"), "{p:?}");
        let t = &st.trades["o-1"];
        assert_eq!(t.status, TranStatus::Capture);
        assert_eq!(
            t.card.as_ref().map(|c| c.card_no.as_str()),
            Some("************0000")
        );
        let member = t.member.clone().expect("member");
        assert_eq!((member.member_id.as_str(), member.card_seq), ("km-1", 1));
        let p = call_api(
            &mut st,
            "SearchTrade",
            &params(&[
                ("ShopID", "tshop00000001"),
                ("ShopPass", "sandbox01"),
                ("OrderID", "o-1"),
            ]),
        );
        assert_eq!(get(&p, "SiteID"), Some("tsite00000001"));
        assert_eq!(get(&p, "MemberID"), Some("km-1"));

        site_call(
            &mut st,
            "DeleteCard",
            &[("MemberID", "km-1"), ("CardSeq", "0")],
        );
        let access = entry(&mut st, "o-2", "AUTH");
        let p = exec(&mut st, "o-2", &access, &stored("0"));
        assert_eq!(info(&p), Some(CARD_NOT_FOUND));
        let p = exec(&mut st, "o-2", &access, &stored("5"));
        assert_eq!(info(&p), Some(CARD_NOT_FOUND));
        let mut other = stored("1");
        other[3] = ("MemberID", "km-9");
        assert_eq!(
            info(&exec(&mut st, "o-2", &access, &other)),
            Some(MEMBER_NOT_FOUND)
        );
        let mut wrong = stored("1");
        wrong[2] = ("SitePass", "wrongpass1");
        assert_eq!(
            info(&exec(&mut st, "o-2", &access, &wrong)),
            Some(SITE_NOT_FOUND)
        );
        assert_eq!(st.trades["o-2"].status, TranStatus::Unprocessed);
        // The test cards decide as with a token.
        save_card(&mut st, "km-1", test_cards::WRONG_CVC, &[]);
        assert_eq!(
            st.members["km-1"].cards.len(),
            2,
            "the issuer check refused it"
        );
        // TradedCard of a stored-card payment names its own member only.
        save_member(&mut st, "km-2");
        assert_eq!(
            info(&traded(&mut st, "o-1", "km-2")),
            Some(TRADE_MEMBER_MISMATCH)
        );
        assert_eq!(get(&traded(&mut st, "o-1", "km-1"), "CardSeq"), Some("2"));
    }

    #[test]
    fn installments_outside_the_contract_are_refused_with_42g70() {
        let mut st = sandbox();
        st.installments = crate::parse_installments("3,5,bonus").expect("plan");
        let pay = |st: &mut State, order: &str, method: &[(&'static str, &'static str)]| {
            let access = entry(st, order, "AUTH");
            let tok = token(st, test_cards::APPROVED);
            let mut p = method.to_vec();
            p.push(("Token", tok.as_str()));
            let answer = exec(st, order, &access, &p);
            (answer, access)
        };
        for (order, method) in [
            ("o-1", &[("Method", "1")][..]),
            ("o-2", &[("Method", "2"), ("PayTimes", "5")][..]),
            ("o-3", &[("Method", "3")][..]),
        ] {
            let (p, _) = pay(&mut st, order, method);
            assert_eq!(get(&p, "ACS"), Some("0"), "{order}: {p:?}");
        }
        assert_eq!(
            (
                st.trades["o-2"].method.as_str(),
                st.trades["o-2"].pay_times.as_str()
            ),
            ("2", "5")
        );
        for (order, method) in [
            ("o-4", &[("Method", "2"), ("PayTimes", "6")][..]),
            ("o-5", &[("Method", "5")][..]),
            ("o-6", &[("Method", "4"), ("PayTimes", "2")][..]),
        ] {
            let (p, _) = pay(&mut st, order, method);
            assert_eq!(
                (get(&p, "ErrCode"), info(&p)),
                (Some("G70"), Some(METHOD_NOT_CONTRACTED))
            );
            assert_eq!(st.trades[order].status, TranStatus::Unprocessed, "{order}");
        }
        // Format errors stay check_method's.
        let (p, _) = pay(&mut st, "o-7", &[("Method", "2")]);
        assert_eq!(info(&p), Some("E01270001"));
        // AlterTran's re-authorisation meets the same contract.
        let (_, access) = pay(&mut st, "o-8", &[("Method", "1")]);
        let alter = |st: &mut State, extra: &[(&str, &str)]| {
            let mut p = vec![
                ("ShopID", "tshop00000001"),
                ("ShopPass", "sandbox01"),
                ("AccessID", access.0.as_str()),
                ("AccessPass", access.1.as_str()),
            ];
            p.extend_from_slice(extra);
            call_api(st, "AlterTran", &params(&p))
        };
        assert!(info(&alter(&mut st, &[("JobCd", "VOID")])).is_none());
        let reauth = [("JobCd", "AUTH"), ("Amount", "900"), ("Method", "5")];
        assert_eq!(info(&alter(&mut st, &reauth)), Some(METHOD_NOT_CONTRACTED));
        assert_eq!(st.trades["o-8"].status, TranStatus::Void);
        let reauth = [
            ("JobCd", "AUTH"),
            ("Amount", "900"),
            ("Method", "2"),
            ("PayTimes", "3"),
        ];
        assert!(info(&alter(&mut st, &reauth)).is_none());
        assert_eq!(st.trades["o-8"].pay_times, "3");
    }
}
