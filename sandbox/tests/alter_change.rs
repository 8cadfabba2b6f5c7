//! AlterTran / ChangeTran: SALES, the cancel classification by JST calendar, validity windows,
//! re-authorisation and amount change.

mod common;

use common::*;
use kessai_core::gmo::codec::get;
use kessai_sandbox::SandboxConfig;

/// 2026-11-30 23:59:59 JST (the last second of a day and of a month).
const NOV30_235959: i64 = 1_796_050_799_000;

#[tokio::test]
async fn sales_must_equal_the_authorised_amount_and_keeps_approve_and_tran_id() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    let o = order_id("sales");
    let a = sb.authorized(&o, 3000).await;
    let before = sb.search(&o).await;
    let p = sb
        .alter(&a, &[("JobCd", "SALES"), ("Amount", "2999")])
        .await;
    assert_eq!(err_info(&p), Some("E01060010"));
    let p = sb.alter(&a, &[("JobCd", "SALES")]).await;
    assert_eq!(err_info(&p), Some("E01060001"));
    sb.advance_minutes(90).await;
    let p = sb
        .alter(&a, &[("JobCd", "SALES"), ("Amount", "3000")])
        .await;
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "AccessID",
            "AccessPass",
            "Forward",
            "Approve",
            "TranID",
            "TranDate"
        ]
    );
    assert_eq!(get(&p, "TranID"), get(&before, "TranID"));
    assert_eq!(get(&p, "Approve"), get(&before, "Approve"));
    assert_eq!(get(&p, "TranDate"), Some(jst(T0 + 90 * MINUTE).as_str()));
    let s = sb.search(&o).await;
    assert_eq!(
        (get(&s, "Status"), get(&s, "JobCd")),
        (Some("SALES"), Some("SALES"))
    );
    // A second SALES is refused by core's rules.
    let p = sb
        .alter(&a, &[("JobCd", "SALES"), ("Amount", "3000")])
        .await;
    assert_eq!(err_info(&p), Some("E11010003"));
}

#[tokio::test]
async fn sales_after_the_validity_window_is_e01420010() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    let late = order_id("valid");
    let a_late = sb.authorized(&late, 100).await;
    let ok = order_id("valid");
    let a_ok = sb.authorized(&ok, 100).await;
    sb.advance_minutes(59 * 24 * 60).await;
    let p = sb
        .alter(&a_ok, &[("JobCd", "SALES"), ("Amount", "100")])
        .await;
    assert_eq!(get(&p, "ErrCode"), None, "59 days: {p:?}");
    sb.advance_minutes(2 * 24 * 60).await;
    let p = sb
        .alter(&a_late, &[("JobCd", "SALES"), ("Amount", "100")])
        .await;
    assert_eq!(err_info(&p), Some("E01420010"));
    assert_eq!(get(&sb.search(&late).await, "Status"), Some("AUTH"));
    // Configurable window.
    let sb = Sb::start_with(SandboxConfig {
        auth_validity_days: 7,
        ..SandboxConfig::default()
    })
    .await;
    sb.set_clock(T0).await;
    let o = order_id("valid");
    let a = sb.authorized(&o, 100).await;
    sb.advance_minutes(8 * 24 * 60).await;
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "SALES"), ("Amount", "100")]).await),
        Some("E01420010")
    );
}

#[tokio::test]
async fn change_tran_restarts_the_validity_window() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    let o = order_id("extend");
    let a = sb.authorized(&o, 100).await;
    sb.advance_minutes(50 * 24 * 60).await;
    let p = sb.change(&a, &[("JobCd", "AUTH"), ("Amount", "100")]).await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    sb.advance_minutes(50 * 24 * 60).await; // 100 days after the first auth, 50 after the change
    let p = sb.alter(&a, &[("JobCd", "SALES"), ("Amount", "100")]).await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
}

async fn authorized_at(sb: &Sb, at: i64, capture: bool) -> (String, (String, String)) {
    sb.set_clock(at).await;
    let o = order_id("cancel");
    let a = sb.authorized(&o, 1000).await;
    if capture {
        let p = sb
            .alter(&a, &[("JobCd", "SALES"), ("Amount", "1000")])
            .await;
        assert_eq!(get(&p, "ErrCode"), None);
    }
    (o, a)
}

#[tokio::test]
async fn cancel_classification_across_jst_day_and_month() {
    let sb = Sb::start().await;
    // Same JST day (23:59:59 → still 23:59:59): VOID only.
    let (o, a) = authorized_at(&sb, NOV30_235959, true).await;
    for job in ["RETURN", "RETURNX"] {
        assert_eq!(
            err_info(&sb.alter(&a, &[("JobCd", job)]).await),
            Some("E01050004"),
            "{job}"
        );
    }
    let p = sb.alter(&a, &[("JobCd", "VOID")]).await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("VOID"));

    // A same-day AUTH: VOID, or RETURN as GMO's test host accepted (reference §4a); RETURNX no.
    let (o, a) = authorized_at(&sb, NOV30_235959, false).await;
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "RETURNX")]).await),
        Some("E01050004")
    );
    let p = sb.alter(&a, &[("JobCd", "RETURN")]).await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("RETURN"));

    // Sales at 23:59:59 on Nov 30, cancelled one second later (Dec 1 00:00:00 JST): RETURNX.
    let (o, a) = authorized_at(&sb, NOV30_235959, true).await;
    sb.set_clock(NOV30_235959 + 1000).await;
    assert_eq!(jst(NOV30_235959 + 1000), "20261201000000");
    for job in ["VOID", "RETURN"] {
        assert_eq!(
            err_info(&sb.alter(&a, &[("JobCd", job)]).await),
            Some("E01050004"),
            "{job}"
        );
    }
    let before = sb.search(&o).await;
    let p = sb.alter(&a, &[("JobCd", "RETURNX")]).await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    assert_ne!(
        get(&p, "TranID"),
        get(&before, "TranID"),
        "cancel gets a new TranID"
    );
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("RETURNX"));

    // An AUTH from the previous day (and month) is cancelled with RETURN, never RETURNX.
    let (o, a) = authorized_at(&sb, NOV30_235959, false).await;
    sb.set_clock(NOV30_235959 + 1000).await;
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "VOID")]).await),
        Some("E01050004")
    );
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "RETURNX")]).await),
        Some("E01050004")
    );
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "RETURN")]).await, "ErrCode"),
        None
    );
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("RETURN"));

    // Sales earlier in the same month: RETURN.
    let (o, a) = authorized_at(&sb, T0, true).await; // Nov 15
    sb.set_clock(NOV30_235959).await;
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "VOID")]).await),
        Some("E01050004")
    );
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "RETURN")]).await, "ErrCode"),
        None
    );
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("RETURN"));
}

#[tokio::test]
async fn lenient_cancel_accepts_any_cancel_job() {
    let sb = Sb::start_with(SandboxConfig {
        lenient_cancel: true,
        ..SandboxConfig::default()
    })
    .await;
    let (o, a) = authorized_at(&sb, NOV30_235959, false).await;
    // RETURN on a same-day AUTH, as the real test host accepted (reference §4a).
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "RETURN")]).await, "ErrCode"),
        None
    );
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("RETURN"));
}

#[tokio::test]
async fn nothing_changes_after_180_days() {
    let sb = Sb::start().await;
    let (_, a) = authorized_at(&sb, T0, true).await;
    let (_, b) = authorized_at(&sb, T0, false).await;
    sb.set_clock(T0 + 181 * DAY).await;
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "RETURNX")]).await),
        Some("E11010010")
    );
    assert_eq!(
        err_info(&sb.change(&b, &[("JobCd", "AUTH"), ("Amount", "5")]).await),
        Some("E11010010")
    );
    sb.set_clock(T0 + 179 * DAY).await;
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "RETURNX")]).await, "ErrCode"),
        None
    );
}

#[tokio::test]
async fn reauthorisation_only_from_void_return_returnx() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    // From UNPROCESSED: not settled yet.
    let o = order_id("reauth");
    let u = sb.entry(&o, "AUTH", 100).await;
    assert_eq!(
        err_info(
            &sb.alter(&u, &[("JobCd", "AUTH"), ("Amount", "100"), ("Method", "1")])
                .await
        ),
        Some("E11010002")
    );
    // From AUTH and SALES: refused.
    let (o, a) = authorized_at(&sb, T0, false).await;
    let re = [("JobCd", "AUTH"), ("Amount", "800"), ("Method", "1")];
    assert_eq!(err_info(&sb.alter(&a, &re).await), Some("E01050004"));
    let (_, s) = authorized_at(&sb, T0, true).await;
    assert_eq!(err_info(&sb.alter(&s, &re).await), Some("E01050004"));
    // Re-auth needs Amount and Method.
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "VOID")]).await, "ErrCode"),
        None
    );
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "AUTH")]).await),
        Some("E01060001|E01260001")
    );
    let before = sb.search(&o).await;
    let p = sb.alter(&a, &re).await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    assert_ne!(get(&p, "TranID"), get(&before, "TranID"));
    let s = sb.search(&o).await;
    assert_eq!(
        (get(&s, "Status"), get(&s, "Amount")),
        (Some("AUTH"), Some("800"))
    );
    // Re-auth to CAPTURE from RETURN.
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "VOID")]).await, "ErrCode"),
        None
    );
    let p = sb
        .alter(
            &a,
            &[("JobCd", "CAPTURE"), ("Amount", "700"), ("Method", "1")],
        )
        .await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("CAPTURE"));
}

#[tokio::test]
async fn change_tran_gets_a_new_tran_id_and_amount() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    let o = order_id("change");
    let a = sb.authorized(&o, 100).await;
    let before = sb.search(&o).await;
    sb.advance_minutes(3).await;
    let p = sb
        .change(&a, &[("JobCd", "AUTH"), ("Amount", "1000"), ("Tax", "0")])
        .await;
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "AccessID",
            "AccessPass",
            "Forward",
            "Approve",
            "TranID",
            "TranDate"
        ]
    );
    assert_ne!(get(&p, "TranID"), get(&before, "TranID"));
    assert_ne!(get(&p, "Approve"), get(&before, "Approve"));
    let s = sb.search(&o).await;
    assert_eq!(
        (get(&s, "Status"), get(&s, "Amount"), get(&s, "JobCd")),
        (Some("AUTH"), Some("1000"), Some("AUTH"))
    );
    assert_eq!(get(&s, "TranID"), get(&p, "TranID"));
    assert_eq!(get(&s, "ProcessDate"), Some(jst(T0 + 3 * MINUTE).as_str()));
    // SALES now needs the new amount.
    assert_eq!(
        err_info(&sb.alter(&a, &[("JobCd", "SALES"), ("Amount", "100")]).await),
        Some("E01060010")
    );
    assert_eq!(
        get(
            &sb.alter(&a, &[("JobCd", "SALES"), ("Amount", "1000")])
                .await,
            "ErrCode"
        ),
        None
    );
    // ChangeTran on a cancelled transaction or with a cancel JobCd is refused.
    let p = sb.change(&a, &[("JobCd", "VOID"), ("Amount", "10")]).await;
    assert_eq!(err_info(&p), Some("E01050002"));
    assert_eq!(
        get(&sb.alter(&a, &[("JobCd", "VOID")]).await, "ErrCode"),
        None
    );
    assert_eq!(
        err_info(&sb.change(&a, &[("JobCd", "AUTH"), ("Amount", "10")]).await),
        Some("E01050004")
    );
    // Wrong shop.
    let p = sb
        .call(
            "ChangeTran",
            &[
                ("ShopID", "tshop00000002"),
                ("ShopPass", "x"),
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("JobCd", "AUTH"),
                ("Amount", "10"),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01030002"));
}
