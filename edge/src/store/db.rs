//! The D1 handle and the statement helpers every table file uses (binds, errors, `changes()`),
//! and [`GroupBatch`]: the statements of concurrent flows sent in one batch.

use crate::http::{ApiError, ApiResult};
use futures_util::future::poll_fn;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Poll, Waker};
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

/// D1 statements of a group of concurrent flows sent as one batch (#17: the cron's group of
/// charges started together). Each member submits its statements once ([`Member::batch`]) or
/// leaves ([`Member::leave`], also on drop); once every member has done one or the other, the
/// first to submit sends the batch (one round trip, in order, one transaction) and each gets its
/// own statements' results. Every member's statements stay its own compare-and-sets: the batch
/// only shares the round trip. A member must submit or leave before it waits on anything the
/// others do, or the group waits for it.
pub struct GroupBatch {
    inner: RefCell<GroupInner>,
}

struct GroupInner {
    expected: usize,
    arrived: usize,
    stmts: Vec<D1PreparedStatement>,
    /// Each submitter's statements: (first, count).
    ranges: Vec<(usize, usize)>,
    results: Option<Result<Vec<Option<D1Result>>, ApiError>>,
    wakers: Vec<Waker>,
}

impl GroupInner {
    fn wake_all(&mut self) {
        for w in self.wakers.drain(..) {
            w.wake();
        }
    }
}

impl GroupBatch {
    /// A group of `expected` members.
    pub fn new(expected: usize) -> Rc<GroupBatch> {
        Rc::new(GroupBatch {
            inner: RefCell::new(GroupInner {
                expected,
                arrived: 0,
                stmts: Vec::new(),
                ranges: Vec::new(),
                results: None,
                wakers: Vec::new(),
            }),
        })
    }

    /// One of the group's members (hand out exactly `expected`).
    pub fn member(self: &Rc<Self>) -> Member {
        Member {
            group: Rc::clone(self),
            done: Cell::new(false),
        }
    }
}

/// One flow's place in a [`GroupBatch`].
pub struct Member {
    group: Rc<GroupBatch>,
    done: Cell<bool>,
}

impl Member {
    /// This member will not submit: the group no longer waits for it.
    pub fn leave(&self) {
        if !self.done.replace(true) {
            let mut g = self.group.inner.borrow_mut();
            g.arrived += 1;
            g.wake_all();
        }
    }

    /// Runs `stmts` in the group's batch (alone if this member already submitted or left) and
    /// answers their results, in order.
    pub(crate) async fn batch(
        &self,
        db: &D1Database,
        stmts: Vec<D1PreparedStatement>,
    ) -> ApiResult<Vec<D1Result>> {
        if self.done.replace(true) {
            return db.batch(stmts).await.map_err(d1);
        }
        let slot = {
            let mut g = self.group.inner.borrow_mut();
            let first = g.stmts.len();
            g.ranges.push((first, stmts.len()));
            g.stmts.extend(stmts);
            g.arrived += 1;
            g.wake_all();
            g.ranges.len() - 1
        };
        let group = &self.group;
        poll_fn(|cx| {
            let mut g = group.inner.borrow_mut();
            if g.arrived >= g.expected {
                Poll::Ready(())
            } else {
                g.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if slot == 0 {
            let stmts = std::mem::take(&mut group.inner.borrow_mut().stmts);
            let res = db.batch(stmts).await.map_err(d1);
            let mut g = group.inner.borrow_mut();
            g.results = Some(res.map(|v| v.into_iter().map(Some).collect()));
            g.wake_all();
        } else {
            poll_fn(|cx| {
                let mut g = group.inner.borrow_mut();
                if g.results.is_some() {
                    Poll::Ready(())
                } else {
                    g.wakers.push(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
        }
        let mut g = group.inner.borrow_mut();
        let (first, count) = g.ranges[slot];
        match g.results.as_mut() {
            Some(Ok(all)) => Ok(all
                .iter_mut()
                .skip(first)
                .take(count)
                .filter_map(Option::take)
                .collect()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(ApiError::internal("group batch")),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.leave();
    }
}
