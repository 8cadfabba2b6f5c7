//! GMO-PG: the protocol calls kessai makes, typed. Parameters come from `kessai_core::gmo::api`,
//! the wire from [`transport`], and what an error means from `kessai_core::gmo::errors` (with
//! [`meaning`] turning it into the edge's answers).

pub mod meaning;
pub mod transport;

use crate::config::Config;
use kessai_core::gmo::api::{self, Access, Answer, Authorization, ExecResult, Malformed, Trade};
use kessai_core::gmo::codec::Params;
use kessai_core::gmo::installments::Installments;
use kessai_core::gmo::site::{self, SavedCard, SiteAuth, StoredCard};
use kessai_core::gmo::status::JobCd;
use kessai_core::gmo::tds2::{self, RiskData, ThreeDSecurePolicy};
use transport::{GmoTransport, TransportError};

/// Why a call has no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Nothing was sent (bad parameters for CP932, invalid URL): GMO executed nothing.
    NotSent(String),
    /// No answer in time, connection lost, 5xx: GMO may or may not have executed the call.
    NoAnswer(String),
    /// GMO answered, but without the fields a success must carry: treat as an open outcome.
    Unreadable(&'static str),
}

/// A GMO answer (success or GMO's error pairs), or why there is none.
pub type Called<T> = Result<Answer<T>, CallError>;

/// The shop's GMO-PG protocol API (ShopID/ShopPass, base URL and timeout from the config).
pub struct GmoClient<'a> {
    cfg: &'a Config,
}

impl<'a> GmoClient<'a> {
    pub fn new(cfg: &'a Config) -> GmoClient<'a> {
        GmoClient { cfg }
    }

    async fn call<T>(
        &self,
        path: &str,
        params: &Params,
        read: impl FnOnce(&[(String, String)]) -> Result<T, Malformed>,
    ) -> Called<T> {
        let transport = GmoTransport {
            base: &self.cfg.gmo_api_base,
            timeout_ms: self.cfg.gmo_timeout_ms,
        };
        match transport.post(path, params).await {
            Ok(answer) => api::read(&answer, read).map_err(|m| CallError::Unreadable(m.0)),
            Err(TransportError::NotSent(why)) => Err(CallError::NotSent(why)),
            Err(TransportError::Unknown(why)) => Err(CallError::NoAnswer(why)),
        }
    }

    /// EntryTran: registers the order and amount, with the shop's 3-D Secure flags (TdFlag,
    /// Tds2Type, TdTenantName); answers the AccessID/AccessPass.
    /// `merchant_initiated` (a 定期購入 charge on a stored card, #15): no 3-D Secure (TdFlag=0),
    /// whatever the shop's policy; the card was authenticated when it was stored.
    pub async fn entry_tran(
        &self,
        order_id: &str,
        job: JobCd,
        amount: i64,
        merchant_initiated: bool,
    ) -> Called<Access> {
        let tds = &self.cfg.three_d_secure;
        let policy = if merchant_initiated {
            ThreeDSecurePolicy::Off
        } else {
            tds.policy
        };
        let params = tds2::with_entry_flags(
            api::entry_tran(&self.cfg.gmo, order_id, job, amount),
            policy,
            tds.tenant_name.as_deref(),
        );
        self.call(api::ENTRY_TRAN, &params, api::read_access).await
    }

    /// ExecTran with a single-use token from GMO's token JS or a stored card, paid as `pay`
    /// (支払回数); with `three_d_secure`, also where the issuer's page sends the browser back
    /// and the risk data (an ACS=2 answer follows).
    pub async fn exec_tran(
        &self,
        access: &Access,
        order_id: &str,
        source: CardSource<'_>,
        pay: Installments,
        three_d_secure: Option<(&str, &RiskData)>,
    ) -> Called<ExecResult> {
        let params = match source {
            CardSource::Token(token) => api::exec_tran_token(access, order_id, token, pay),
            CardSource::Stored {
                member_id,
                card_seq,
            } => {
                let Some(auth) = self.cfg.site.as_ref() else {
                    return Err(CallError::NotSent("no GMO site configured".into()));
                };
                site::exec_tran_stored(access, order_id, auth, member_id, card_seq, pay)
            }
        };
        let params = match three_d_secure {
            Some((ret_url, risk)) => tds2::with_exec_fields(params, ret_url, risk),
            None => params,
        };
        self.call(api::EXEC_TRAN, &params, api::read_exec).await
    }

    /// SecureTran2: the authorisation after the browser came back from 3-D Secure, with the
    /// outcome GMO reports ([U] `Tds2TransResult` / `Tds2Eci`).
    pub async fn secure_tran2(&self, access: &Access) -> Called<(Authorization, tds2::Outcome)> {
        let params = tds2::secure_tran2(access);
        self.call(tds2::SECURE_TRAN2, &params, |p| {
            Ok((api::read_alter(p)?, tds2::read_outcome(p)))
        })
        .await
    }

    /// SearchTrade: what GMO holds for an order (the reconciliation read).
    pub async fn search_trade(&self, order_id: &str) -> Called<Trade> {
        let params = api::search_trade(&self.cfg.gmo, order_id);
        self.call(api::SEARCH_TRADE, &params, api::read_trade).await
    }

    /// AlterTran: capture (SALES), cancel (VOID / RETURN / RETURNX) or re-authorise.
    pub async fn alter_tran(
        &self,
        access: &Access,
        job: JobCd,
        amount: Option<i64>,
        pay: Installments,
    ) -> Called<Authorization> {
        let params = api::alter_tran(&self.cfg.gmo, access, job, amount, pay);
        self.call(api::ALTER_TRAN, &params, api::read_alter).await
    }

    /// ChangeTran: a new amount for an authorisation or a capture.
    pub async fn change_tran(
        &self,
        access: &Access,
        job: JobCd,
        amount: i64,
    ) -> Called<Authorization> {
        let params = api::change_tran(&self.cfg.gmo, access, job, amount);
        self.call(api::CHANGE_TRAN, &params, api::read_alter).await
    }

    fn site_auth(&self) -> Result<&SiteAuth, CallError> {
        self.cfg
            .site
            .as_ref()
            .ok_or_else(|| CallError::NotSent("no GMO site configured".into()))
    }

    /// SaveMember: registers kessai's MemberID for a customer at GMO.
    pub async fn save_member(&self, member_id: &str) -> Called<String> {
        let params = site::save_member(self.site_auth()?, member_id);
        self.call(site::SAVE_MEMBER, &params, site::read_member)
            .await
    }

    /// SearchCard: the member's cards (deleted ones included, flagged).
    pub async fn search_cards(&self, member_id: &str) -> Called<Vec<StoredCard>> {
        let params = site::search_card(self.site_auth()?, member_id);
        self.call(site::SEARCH_CARD, &params, site::read_cards)
            .await
    }

    /// DeleteCard (logical: the CardSeq is never reused).
    pub async fn delete_card(&self, member_id: &str, card_seq: u32) -> Called<()> {
        let params = site::delete_card(self.site_auth()?, member_id, card_seq);
        self.call(site::DELETE_CARD, &params, |_| Ok(())).await
    }

    /// TradedCard: stores the card of the finished transaction of `order_id` for the member.
    pub async fn traded_card(
        &self,
        order_id: &str,
        member_id: &str,
        default: bool,
    ) -> Called<SavedCard> {
        let params = site::traded_card(
            &self.cfg.gmo,
            self.site_auth()?,
            order_id,
            member_id,
            default,
        );
        self.call(site::TRADED_CARD, &params, site::read_saved)
            .await
    }
}

/// What ExecTran charges: a token from GMO's token JS, or a card GMO keeps for a member.
#[derive(Debug, Clone, Copy)]
pub enum CardSource<'s> {
    Token(&'s str),
    Stored { member_id: &'s str, card_seq: u32 },
}
