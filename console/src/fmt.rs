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
        "amount_updated" => "金額の更新（受付）".into(),
        "authorization_started" => "与信開始".into(),
        "authorized" => "与信（仮売上）".into(),
        // 即時売上: authorised and captured by one ExecTran / SecureTran2.
        "captured" => "与信・売上確定（即時売上）".into(),
        // カード登録 (有効性チェック, no amount): the issuer accepted the card.
        "verified" => "カード確認（有効性チェック）".into(),
        "card_declined" | "authorization_declined" => "カード会社が拒否".into(),
        "entry_failed" => "取引登録エラー".into(),
        "exec_not_sent" => "与信未送信".into(),
        "gateway_busy" | "gateway_unavailable" => "ゲートウェイ混雑・停止".into(),
        "reconciled_not_found" => "再照会（取引なし）".into(),
        "outcome_pending" => "結果確認待ち".into(),
        "reconcile_amount_mismatch" => "再照会で金額不一致".into(),
        "three_d_secure_started" => "3Dセキュア認証開始".into(),
        "three_d_secure_returned" => "3Dセキュア認証から戻り".into(),
        "three_d_secure_failed" => "3Dセキュア認証失敗".into(),
        // A return (or a retry) while the shopper's authentication is still open at GMO.
        "three_d_secure_still_open" => "3Dセキュア認証の完了待ち".into(),
        "amazon_button_signed" => "Amazon Payボタン表示".into(),
        "amazon_session_opened" => "Amazon Pay 開始".into(),
        "amazon_session_updated" => "Amazon Pay 更新".into(),
        "amazon_reconciled" => "Amazon Pay 再照会".into(),
        "amazon_declined" => "Amazon Pay 決済拒否".into(),
        "amazon_canceled" => "Amazon Pay 購入者が中止".into(),
        "amazon_failed" => "Amazon Pay 決済失敗".into(),
        "amazon_ipn_applied" => "Amazon Pay 通知（IPN）反映".into(),
        "gmo_notification_applied" => "GMO 結果通知反映".into(),
        "card_attempts_unlocked" => "カード試行ロックの解除".into(),
        "card_saved" => "カード登録（会員カード）".into(),
        "card_save_failed" => "カード登録の失敗（決済は有効）".into(),
        "card_ip_unlocked" => "IPアドレス制限の解除".into(),
        other => other.into(),
    }
}

/// The payment's 3-D Secure outcome, from its newest event that says one: `authorized` with
/// `detail.three_d_secure` (or `captured`, 即時売上) → 認証成功（Y、ECI 05）; `three_d_secure_failed` → 認証失敗;
/// `three_d_secure_started` → 認証中; none → — (the card went without 3-D Secure).
/// 決済詳細's カード row: the stored card paid with (登録カード), or the card typed in, and
/// whether this payment saved it (with the masked number GMO gave when saving).
pub fn card_used(p: &serde_json::Value, events: &[serde_json::Value]) -> String {
    let card = &p["card"];
    let mask = p["card_mask"].as_str().filter(|m| !m.is_empty());
    let mut text = match (card["stored_card_seq"].as_i64(), mask) {
        (Some(seq), Some(m)) => format!("登録カード（No.{seq}、{m}）"),
        (Some(seq), None) => format!("登録カード（No.{seq}）"),
        (None, Some(m)) => format!("新しいカード（{m}）"),
        (None, None) => "新しいカード".into(),
    };
    if let Some(seq) = card["saved_card_seq"].as_i64() {
        let masked = events
            .iter()
            .rev()
            .find(|e| e["kind"] == "card_saved")
            .and_then(|e| e["detail"]["masked"].as_str());
        text.push_str(&match masked {
            Some(m) => format!("・このお支払いで登録済み（No.{seq}、{m}）"),
            None => format!("・このお支払いで登録済み（No.{seq}）"),
        });
    }
    text
}

pub fn three_d_secure(events: &[serde_json::Value]) -> String {
    for e in events.iter().rev() {
        let t = &e["detail"]["three_d_secure"];
        match e["kind"].as_str() {
            Some("authorized" | "captured" | "verified") if t.is_object() => {
                return match (
                    t["trans_status"].as_str(),
                    t["trans_status_label_ja"].as_str(),
                ) {
                    (Some(code), Some(label)) => match t["eci"].as_str() {
                        Some(eci) => format!("{label}（{code}、ECI {eci}）"),
                        None => format!("{label}（{code}）"),
                    },
                    _ => "認証済み（結果の詳細なし）".into(),
                };
            }
            // Authorised without a reported outcome (e.g. settled by 再照会 after the return).
            Some("authorized" | "captured" | "verified") => {
                let started = events.iter().any(|e| e["kind"] == "three_d_secure_started");
                return if started {
                    "認証済み（結果の詳細なし）"
                } else {
                    "—"
                }
                .into();
            }
            Some("three_d_secure_failed") => return "認証失敗（再入力可）".into(),
            Some("three_d_secure_started") => return "認証中または未完了".into(),
            _ => {}
        }
    }
    "—".into()
}

/// A date of the subscription view (`2027-02-10`, JST) as `2027/02/10`; `—` when absent.
pub fn date(v: &Value) -> String {
    v.as_str()
        .filter(|d| !d.is_empty())
        .map(|d| d.replace('-', "/"))
        .unwrap_or_else(|| "—".into())
}

/// 定期購入's 支払方法: the stored card it charges (`source` of the view).
pub fn subscription_source(source: &Value) -> String {
    match (source["type"].as_str(), source["card_seq"].as_i64()) {
        (Some("card"), Some(seq)) => format!("登録カード No.{seq}"),
        (Some("amazon_pay"), _) => "Amazon Pay".into(),
        _ => "—".into(),
    }
}

/// 定期購入 list's 前回の課金: the newest attempt's state, and why it failed (「未決済（カード会社が拒否）」).
pub fn last_charge(last: &Value) -> String {
    let Some(label) = last["state_label_ja"].as_str() else {
        return "—".into();
    };
    let why = match last["error"].as_str() {
        None => return label.to_string(),
        Some("card_declined") => "カード会社が拒否",
        Some("monthly_cap_exceeded") => "Amazon Pay の月間上限",
        Some("amazon_declined") => "Amazon Pay が拒否",
        Some(c) if c.starts_with("card_") => "カードを利用できません",
        Some(_) => "エラー",
    };
    format!("{label}（{why}）")
}

/// 定期購入's history: what happened, in Japanese.
pub fn subscription_event_label(kind: &str) -> String {
    match kind {
        "created" => "申込（定期購入の作成）".into(),
        "charge_succeeded" => "課金成功".into(),
        "charge_failed" => "課金失敗".into(),
        "paused" => "一時停止".into(),
        "resumed" => "再開".into(),
        "cancelled" => "解約".into(),
        "amount_changed" => "金額変更".into(),
        "next_date_changed" => "次回課金日の変更".into(),
        "card_changed" => "お支払いカードの変更".into(),
        other => other.into(),
    }
}

/// 定期購入's history: the event's detail in a line (the charge's order number, the retry, the
/// state after it); the raw detail stays in the cell's title.
pub fn subscription_event_detail(kind: &str, d: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(order) = d["order_id"].as_str() {
        parts.push(format!("注文番号 {order}"));
    }
    if let Some(on) = d["scheduled_on"].as_str() {
        parts.push(format!("課金日 {}", date(&Value::from(on))));
    }
    if kind == "charge_failed" {
        if let Some(n) = d["attempt"].as_i64() {
            parts.push(format!("{}回目", n + 1));
        }
        for e in d["effects"].as_array().into_iter().flatten() {
            if let Some(on) = e["on"].as_str().filter(|_| !e["retry"].is_null()) {
                parts.push(format!("再試行予定 {}", date(&Value::from(on))));
            }
        }
    }
    if let Some(a) = d["amount"].as_i64().filter(|_| kind == "amount_changed") {
        parts.push(format!("金額 {}", yen(&Value::from(a))));
    }
    if let Some(on) = d["next_charge_on"].as_str() {
        parts.push(format!("次回課金日 {}", date(&Value::from(on))));
    }
    if let Some(s) = d["status"].as_str() {
        let label = kessai_core::subscription::SubscriptionStatus::parse(s)
            .map(|x| x.label_ja().to_string())
            .unwrap_or_else(|| s.to_string());
        parts.push(format!("状態 {label}"));
    }
    parts.join("・")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn last_charge_says_the_state_and_why_it_failed() {
        assert_eq!(last_charge(&Value::Null), "—");
        assert_eq!(
            last_charge(&json!({ "state_label_ja": "仮売上", "error": null })),
            "仮売上"
        );
        assert_eq!(
            last_charge(&json!({ "state_label_ja": "未決済", "error": "card_declined" })),
            "未決済（カード会社が拒否）"
        );
        assert_eq!(
            last_charge(&json!({ "state_label_ja": "未決済", "error": "monthly_cap_exceeded" })),
            "未決済（Amazon Pay の月間上限）"
        );
    }

    #[test]
    fn card_used_says_stored_or_new_and_saved() {
        let stored =
            json!({"card_mask": null, "card": {"stored_card_seq": 2, "saved_card_seq": null}});
        assert_eq!(card_used(&stored, &[]), "登録カード（No.2）");
        let saved = json!({"card_mask": "************1111", "card": {"stored_card_seq": null, "saved_card_seq": 0}});
        let ev = [
            json!({"kind": "card_saved", "detail": {"card_seq": 0, "masked": "*************111"}}),
        ];
        assert_eq!(
            card_used(&saved, &ev),
            "新しいカード（************1111）・このお支払いで登録済み（No.0、*************111）"
        );
        assert_eq!(card_used(&json!({"card": null}), &[]), "新しいカード");
    }

    #[test]
    fn three_d_secure_reads_the_newest_event_that_says() {
        assert_eq!(
            three_d_secure(&[json!({"kind": "created", "detail": {}})]),
            "—"
        );
        let started = json!({"kind": "three_d_secure_started", "detail": {}});
        let failed = json!({"kind": "three_d_secure_failed", "detail": {"err_info": "E21030007"}});
        let ok = json!({"kind": "authorized", "detail": {"three_d_secure": {
            "trans_status": "Y", "trans_status_label_ja": "認証成功", "eci": "05"}}});
        let plain = json!({"kind": "authorized", "detail": {}});
        let captured = json!({"kind": "captured", "detail": {"three_d_secure": {
            "trans_status": "A", "trans_status_label_ja": "認証試行", "eci": "06"}}});
        assert_eq!(
            three_d_secure(&[started.clone(), captured]),
            "認証試行（A、ECI 06）"
        );
        assert_eq!(
            three_d_secure(std::slice::from_ref(&started)),
            "認証中または未完了"
        );
        assert_eq!(
            three_d_secure(&[started.clone(), failed.clone()]),
            "認証失敗（再入力可）"
        );
        assert_eq!(
            three_d_secure(&[started.clone(), failed, started, ok]),
            "認証成功（Y、ECI 05）"
        );
        assert_eq!(three_d_secure(std::slice::from_ref(&plain)), "—");
        let started = json!({"kind": "three_d_secure_started", "detail": {}});
        assert_eq!(
            three_d_secure(&[started, plain]),
            "認証済み（結果の詳細なし）"
        );
    }

    #[test]
    fn every_event_kind_of_the_3ds_path_has_a_japanese_label() {
        for kind in [
            "three_d_secure_started",
            "three_d_secure_returned",
            "three_d_secure_failed",
            "three_d_secure_still_open",
            "captured",
            "entry_failed",
            "card_attempts_unlocked",
            "card_ip_unlocked",
        ] {
            assert!(!event_label(kind).is_ascii(), "{kind}");
        }
    }

    #[test]
    fn every_subscription_event_kind_has_a_japanese_label() {
        for kind in [
            "created",
            "charge_succeeded",
            "charge_failed",
            "paused",
            "resumed",
            "cancelled",
            "amount_changed",
            "next_date_changed",
            "card_changed",
        ] {
            assert!(!subscription_event_label(kind).is_ascii(), "{kind}");
        }
    }

    #[test]
    fn subscription_fields_read_in_japanese() {
        assert_eq!(date(&json!("2027-02-10")), "2027/02/10");
        assert_eq!(date(&Value::Null), "—");
        assert_eq!(
            subscription_source(&json!({"type": "card", "card_seq": 0})),
            "登録カード No.0"
        );
        let failed = json!({"order_id": "kr1", "scheduled_on": "2027-02-10", "attempt": 0,
            "effects": [{"retry": 1, "on": "2027-02-11"}], "status": "active"});
        assert_eq!(
            subscription_event_detail("charge_failed", &failed),
            "注文番号 kr1・課金日 2027/02/10・1回目・再試行予定 2027/02/11・状態 有効"
        );
    }
}
