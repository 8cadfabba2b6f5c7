//! The D1 handle and the statement helpers every table file uses (binds, errors, `changes()`).

use crate::http::{ApiError, ApiResult};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// The edge's D1 database (binding `DB`).
pub struct Store<'a> {
    pub db: &'a D1Database,
}

pub(crate) fn d1(e: worker::Error) -> ApiError {
    ApiError::internal(&format!("D1: {e}"))
}

pub(crate) fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

pub(crate) fn n(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}

pub(crate) fn opt(v: Option<&str>) -> JsValue {
    v.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

pub(crate) fn opt_n(v: Option<i64>) -> JsValue {
    v.map(n).unwrap_or(JsValue::NULL)
}

/// Rows a write changed (0 when D1 does not say).
pub(crate) fn changes(res: &D1Result) -> usize {
    res.meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

impl Store<'_> {
    pub(crate) fn stmt(&self, sql: &str, args: &[JsValue]) -> ApiResult<D1PreparedStatement> {
        self.db.prepare(sql).bind(args).map_err(d1)
    }

    /// Runs a write; how many rows it changed.
    pub(crate) async fn run(&self, sql: &str, args: &[JsValue]) -> ApiResult<usize> {
        let res = self.stmt(sql, args)?.run().await.map_err(d1)?;
        Ok(changes(&res))
    }

    /// The first row of a query, if any.
    pub(crate) async fn first<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> ApiResult<Option<T>> {
        self.stmt(sql, args)?.first::<T>(None).await.map_err(d1)
    }

    /// Runs `stmts` in one batch (one round trip, in order, as one transaction) and answers the
    /// first row of the last one: a write and the read of what it left, without a second trip.
    pub(crate) async fn batch_last_first<T: serde::de::DeserializeOwned>(
        &self,
        stmts: Vec<D1PreparedStatement>,
    ) -> ApiResult<Option<T>> {
        let results = self.db.batch(stmts).await.map_err(d1)?;
        match results.last() {
            Some(last) => Ok(last.results::<T>().map_err(d1)?.into_iter().next()),
            None => Ok(None),
        }
    }

    /// Every row of a query.
    pub(crate) async fn all<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> ApiResult<Vec<T>> {
        self.stmt(sql, args)?
            .all()
            .await
            .map_err(d1)?
            .results::<T>()
            .map_err(d1)
    }
}
