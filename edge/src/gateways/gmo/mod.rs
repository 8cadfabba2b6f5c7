//! GMO-PG: the protocol calls kessai makes, typed. Parameters come from `kessai_core::gmo::api`,
//! the wire from [`transport`], and what an error means from `kessai_core::gmo::errors` (with
//! [`meaning`] turning it into the edge's answers).

pub mod meaning;
pub mod transport;

use crate::config::Config;
use kessai_core::gmo::api::{self, Access, Answer, Authorization, ExecResult, Malformed, Trade};
use kessai_core::gmo::codec::Params;
use kessai_core::gmo::status::JobCd;
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

    /// EntryTran: registers the order and amount; answers the AccessID/AccessPass.
    pub async fn entry_tran(&self, order_id: &str, job: JobCd, amount: i64) -> Called<Access> {
        let params = api::entry_tran(&self.cfg.gmo, order_id, job, amount);
        self.call(api::ENTRY_TRAN, &params, api::read_access).await
    }

    /// ExecTran with a single-use token from GMO's token JS.
    pub async fn exec_tran_token(
        &self,
        access: &Access,
        order_id: &str,
        token: &str,
    ) -> Called<ExecResult> {
        let params = api::exec_tran_token(access, order_id, token);
        self.call(api::EXEC_TRAN, &params, api::read_exec).await
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
    ) -> Called<Authorization> {
        let params = api::alter_tran(&self.cfg.gmo, access, job, amount);
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
}
