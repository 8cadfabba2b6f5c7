//! How the console writes money, times, states and actors (Japanese first).

use kessai_core::jst::UnixMillis;
use kessai_core::money::Jpy;
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::PaymentState;
use serde_json::Value;

pub fn yen(v: &Value) -> String {
    v.as_i64()
        .map(|y| Jpy::from_stored(y).to_string())
        .unwrap_or_else(|| "—".into())
}

/// `2026/11/30 22:08` in JST.
pub fn jst(v: &Value) -> String {
    match v.as_i64() {
        Some(ms) => {
            let t = UnixMillis(ms).to_jst();
            format!(
                "{}/{:02}/{:02} {:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute
            )
        }
        None => "—".into(),
    }
}

pub fn state_label(state: &str) -> String {
    PaymentState::parse(state)
        .map(|s| s.label_ja().to_string())
        .unwrap_or_else(|| state.to_string())
}

pub fn method_label(method: &str) -> String {
    PaymentMethod::parse(method)
        .map(|m| m.label_ja().to_string())
        .unwrap_or_else(|| method.to_string())
}

/// The 有効期限 cell: the countdown of a 仮売上 (`authorization_expiry` of the payment view).
/// Returns the text and its CSS class.
pub fn expiry(v: &Value) -> (String, &'static str) {
    if v.is_null() {
        return ("—".into(), "");
    }
    if v["expired"].as_bool() == Some(true) {
        return ("期限切れ".into(), "expired");
    }
    let days = v["days_left"].as_i64().unwrap_or(0);
    let text = if days <= 0 {
        "本日まで".to_string()
    } else {
        format!("残り{days}日")
    };
    let class = if v["near_expiry"].as_bool() == Some(true) {
        "near"
    } else {
        ""
    };
    (text, class)
}

pub fn actor_label(actor: &str) -> String {
    match actor.split_once(':') {
        Some(("operator", name)) => format!("担当者 {name}"),
        _ => match actor {
            "merchant" => "加盟店API".into(),
            "system" => "システム".into(),
            "shopper" => "購入者".into(),
            "gateway" => "ゲートウェイ".into(),
            other => other.into(),
        },
    }
}

pub fn event_label(kind: &str) -> String {
    match kind {
        "created" => "受付".into(),
        "operation_started" => "操作開始".into(),
        "operation_step" => "ゲートウェイ処理".into(),
        "operation_failed" => "ゲートウェイがエラー".into(),
        "capture" => "売上確定".into(),
        "change_amount" => "金額変更".into(),
        "cancel" => "取消".into(),
        "refund" => "返金".into(),
        "reconcile_started" => "再照会開始".into(),
        "reconciled" => "再照会".into(),
        "outcome_unknown" => "結果不明".into(),
        "forced" => "エラーを無視して変更".into(),
        other => other.into(),
    }
}
