//! What capture and cancel would do now, for the console to show before the operator confirms:
//! the plan, or the refusal, exactly as the operation itself would decide it.

use super::{plan_summary, snapshot_of};
use crate::http::ApiResult;
use crate::store::PaymentRow;
use kessai_core::gmo::status::JobCd;
use kessai_core::jst::UnixMillis;
use kessai_core::operations::{Operation, plan};
use serde_json::{Value, json};

fn job_label_ja(job: JobCd) -> &'static str {
    match job {
        JobCd::Void => "取消",
        JobCd::Return => "返品",
        JobCd::Returnx => "月跨返品",
        JobCd::Check => "有効性チェック",
        JobCd::Capture => "即時売上",
        JobCd::Auth => "仮売上",
        JobCd::Sauth => "簡易オーソリ",
        JobCd::Sales => "実売上",
    }
}

/// What capture and cancel would do now (the console shows it before confirming): the plan's
/// kind and steps, the card cancel classification (取消/返品/月跨返品) and whether it stays on the
/// shopper's statement; or the refusal's code and Japanese message.
pub fn previews(row: &PaymentRow, now: i64) -> ApiResult<Value> {
    let snapshot = snapshot_of(row)?;
    let preview = |op: Operation| match plan(op, &snapshot, UnixMillis(now)) {
        Ok(p) => {
            let mut v = plan_summary(&p);
            v["ok"] = json!(true);
            v["cancel_label_ja"] = json!(p.cancel_job.map(job_label_ja));
            v
        }
        Err(r) => {
            json!({ "ok": false, "code": r.code(), "message": r.message_en(), "message_ja": r.message_ja() })
        }
    };
    Ok(json!({
        "capture": preview(Operation::Capture { amount: None }),
        "cancel": preview(Operation::Cancel),
    }))
}
