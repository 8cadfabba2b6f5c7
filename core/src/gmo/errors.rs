//! What GMO's `ErrCode`/`ErrInfo` pairs mean: the handling class (retry? reconcile? ask the
//! shopper?) and the shopper-facing message. Classes follow GMO's error list v1.72 "state after
//! error" column as transcribed in the reference (§3).

use serde::Serialize;

/// One `ErrCode`/`ErrInfo` pair: `E01` + `E01040010`, `G02` + `42G020000`, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GmoErrInfo {
    pub code: String,
    pub info: String,
}

/// How kessai must react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The issuer or GMO declined the card; the transaction stays UNPROCESSED and may be retried
    /// with a new token on the same AccessID (42G…, E41…, E61010002).
    Declined,
    /// The shopper must re-enter something (number, expiry, CVC) or get a new token (EX1…).
    ShopperInput,
    /// 3-D Secure failed (E21…).
    ThreeDSecure,
    /// Nothing was executed; the same request may be retried after a back-off (E92…).
    Busy,
    /// The outcome is unknown (E90, E91, 42C…, E82): reconcile with SearchTrade before anything else.
    OutcomeUnknown,
    /// The OrderID is already taken (E01040010): reconcile, never reuse.
    OrderIdExists,
    /// The authorisation is past its validity window (E01420010): re-authorise.
    AuthorizationExpired,
    /// The operation does not fit the transaction's status (E11…, E01050004): our state drifted.
    StateConflict,
    /// A parameter we sent is wrong or the contract forbids it (E01…, E61…, E00…): a bug or a
    /// configuration error; never the shopper's fault, never retried.
    Rejected,
}

/// The message a shopper sees for a failed card payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopperMessage {
    InsufficientFunds,
    CardUnusable,
    CardNumber,
    Expiry,
    SecurityCode,
    PaymentMethod,
    ThreeDSecure,
    TokenExpired,
    Busy,
    Failed,
}

impl ShopperMessage {
    pub fn ja(self) -> &'static str {
        match self {
            ShopperMessage::InsufficientFunds => {
                "カードのご利用限度額を超えているか残高が不足しているため、決済できませんでした。別のカードをご利用ください。"
            }
            ShopperMessage::CardUnusable => {
                "このカードはご利用いただけません。別のカードをご利用ください。"
            }
            ShopperMessage::CardNumber => {
                "カード番号に誤りがあります。ご確認のうえ再度入力してください。"
            }
            ShopperMessage::Expiry => {
                "有効期限に誤りがあります。ご確認のうえ再度入力してください。"
            }
            ShopperMessage::SecurityCode => {
                "セキュリティコードに誤りがあります。ご確認のうえ再度入力してください。"
            }
            ShopperMessage::PaymentMethod => {
                "指定のお支払い方法はご利用いただけません。一括払いをお試しください。"
            }
            ShopperMessage::ThreeDSecure => {
                "本人認証(3Dセキュア)に失敗しました。もう一度お試しいただくか、別のカードをご利用ください。"
            }
            ShopperMessage::TokenExpired => {
                "カード情報の有効期限が切れました。お手数ですがもう一度カード情報を入力してください。"
            }
            ShopperMessage::Busy => {
                "只今大変混み合っております。しばらく時間をおいて再度お試しください。"
            }
            ShopperMessage::Failed => "決済処理に失敗しました。時間をおいて再度お試しください。",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            ShopperMessage::InsufficientFunds => {
                "The card's limit was exceeded or its balance is insufficient. Please use another card."
            }
            ShopperMessage::CardUnusable => "This card cannot be used. Please use another card.",
            ShopperMessage::CardNumber => {
                "The card number is wrong. Please check it and try again."
            }
            ShopperMessage::Expiry => "The expiry date is wrong. Please check it and try again.",
            ShopperMessage::SecurityCode => {
                "The security code is wrong. Please check it and try again."
            }
            ShopperMessage::PaymentMethod => {
                "The selected payment option is not available. Please pay in one installment."
            }
            ShopperMessage::ThreeDSecure => {
                "Card authentication (3-D Secure) failed. Please try again or use another card."
            }
            ShopperMessage::TokenExpired => "Your card details expired. Please enter them again.",
            ShopperMessage::Busy => {
                "The payment service is busy. Please wait a moment and try again."
            }
            ShopperMessage::Failed => "The payment could not be processed. Please try again later.",
        }
    }
}

/// The meaning of one ErrInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Meaning {
    pub class: ErrorClass,
    pub shopper: ShopperMessage,
}

const fn m(class: ErrorClass, shopper: ShopperMessage) -> Meaning {
    Meaning { class, shopper }
}

/// Classifies one ErrInfo. Total over all strings: an unknown code is `Rejected` + `Failed`
/// unless its prefix says otherwise, so a new GMO code can never be taken for success.
pub fn classify(info: &str) -> Meaning {
    use ErrorClass as C;
    use ShopperMessage as S;
    let two = |n: usize| info.get(3..3 + n);
    match info {
        "E01040010" => return m(C::OrderIdExists, S::Failed),
        "E01420010" => return m(C::AuthorizationExpired, S::Failed),
        "E01050004" => return m(C::StateConflict, S::Failed),
        "E61010002" => return m(C::Declined, S::CardUnusable),
        "E61040001" => return m(C::Rejected, S::Failed),
        "E82010001" => return m(C::OutcomeUnknown, S::Failed),
        "E90010001" => return m(C::OutcomeUnknown, S::Failed),
        "E41170002" => return m(C::Declined, S::CardUnusable),
        "E41170099" => return m(C::ShopperInput, S::CardNumber),
        "E11010099" => return m(C::Declined, S::CardUnusable),
        _ => {}
    }
    if info.starts_with("42G") {
        return match two(2).and_then(|s| s.parse::<u32>().ok()) {
            Some(2..=7) | Some(55) => m(C::Declined, S::InsufficientFunds),
            Some(42) | Some(44) | Some(45) => m(C::ShopperInput, S::SecurityCode),
            Some(65) => m(C::ShopperInput, S::CardNumber),
            Some(83) => m(C::ShopperInput, S::Expiry),
            Some(67..=81) => m(C::Declined, S::PaymentMethod),
            // 12, 22, 30, 54, 56, 60, 61, 92, 95-99 and every other issuer reason.
            _ => m(C::Declined, S::CardUnusable),
        };
    }
    if info.starts_with("42C") {
        // CAFIS / issuer communication failure: billable, state unknown.
        return m(C::OutcomeUnknown, S::Failed);
    }
    if info.starts_with("EX1") {
        return m(C::ShopperInput, S::TokenExpired);
    }
    if info.starts_with("E92") {
        return m(C::Busy, S::Busy);
    }
    if info.starts_with("E90") || info.starts_with("E91") {
        return m(C::OutcomeUnknown, S::Failed);
    }
    if info.starts_with("E21") {
        return m(C::ThreeDSecure, ShopperMessage::ThreeDSecure);
    }
    if info.starts_with("E11") {
        return m(C::StateConflict, S::Failed);
    }
    if info.starts_with("E0117") {
        return m(C::ShopperInput, S::CardNumber);
    }
    if info.starts_with("E0118") {
        return m(C::ShopperInput, S::Expiry);
    }
    if info.starts_with("E0146") {
        return m(C::ShopperInput, S::SecurityCode);
    }
    if info.starts_with("E0116") || info.starts_with("E0126") || info.starts_with("E0127") {
        return m(C::Rejected, S::PaymentMethod);
    }
    m(C::Rejected, S::Failed)
}

/// The pairs of one error answer, in GMO's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GmoErrors(pub Vec<GmoErrInfo>);

impl GmoErrors {
    /// Reads `ErrCode=a|b&ErrInfo=x|y`; `None` when the answer carries no error.
    pub fn from_params(params: &[(String, String)]) -> Option<GmoErrors> {
        let codes = super::codec::get(params, "ErrCode")?;
        let infos = super::codec::get(params, "ErrInfo").unwrap_or("");
        let infos: Vec<&str> = infos.split('|').collect();
        let pairs = codes
            .split('|')
            .enumerate()
            .map(|(i, c)| GmoErrInfo {
                code: c.to_string(),
                info: infos.get(i).copied().unwrap_or("").to_string(),
            })
            .collect();
        Some(GmoErrors(pairs))
    }

    /// The meaning that governs handling: an unknown outcome outranks everything (we must
    /// reconcile), then busy, then the first pair.
    pub fn meaning(&self) -> Meaning {
        let all: Vec<Meaning> = self.0.iter().map(|e| classify(&e.info)).collect();
        for class in [ErrorClass::OutcomeUnknown, ErrorClass::Busy] {
            if let Some(found) = all.iter().find(|mm| mm.class == class) {
                return *found;
            }
        }
        all.first()
            .copied()
            .unwrap_or(m(ErrorClass::Rejected, ShopperMessage::Failed))
    }

    /// `E01|E01` / `E01090008|E01100008` for logs and the event history.
    pub fn joined(&self) -> (String, String) {
        let codes: Vec<&str> = self.0.iter().map(|e| e.code.as_str()).collect();
        let infos: Vec<&str> = self.0.iter().map(|e| e.info.as_str()).collect();
        (codes.join("|"), infos.join("|"))
    }

    pub fn contains(&self, info: &str) -> bool {
        self.0.iter().any(|e| e.info == info)
    }
}

/// The ErrCode class GMO pairs with an ErrInfo (`E01040010` → `E01`, `42G020000` → `G02`).
pub fn err_code_for(info: &str) -> String {
    // A GET (non-POST) request is answered `ErrCode=E00&ErrInfo=E31500014`: the connection class.
    if info == "E31500014" {
        return "E00".to_string();
    }
    if let Some(rest) = info.strip_prefix("42") {
        rest.get(..3).unwrap_or("E00").to_string()
    } else {
        info.get(..3).unwrap_or("E00").to_string()
    }
}

/// Operator-facing Japanese descriptions of the codes kessai and its sandbox produce.
/// (GMO's full list needs a login; texts follow the public transcriptions in the reference.)
pub fn describe_ja(info: &str) -> &'static str {
    match info {
        "E01010001" => "ショップIDが指定されていません。",
        "E01020001" => "ショップパスワードが指定されていません。",
        "E01010008" => "ショップIDに半角英数字以外の文字が含まれているか、13文字を超えています。",
        "E01030002" => "指定されたIDとパスワードのショップが存在しません。",
        "E01040001" => "オーダーIDが指定されていません。",
        "E01040003" => "オーダーIDが最大文字数を超えています。",
        "E01040010" => "既にオーダーIDが存在しています。",
        "E01040013" => "オーダーIDに不正な文字が存在します。",
        "E01050001" => "処理区分が指定されていません。",
        "E01050002" => "指定された処理区分は定義されていません。",
        "E01050004" => "指定した処理区分の処理は実行出来ません。",
        "E01060001" => "利用金額が指定されていません。",
        "E01060005" => "利用金額が最大桁数を超えています。",
        "E01060006" => "利用金額に数字以外の文字が含まれています。",
        "E01060010" | "E01060021" => "指定した利用金額と取引の利用金額が一致していません。",
        "E01090001" | "E01090008" => "取引IDが指定されていないか、書式が不正です。",
        "E01100001" | "E01100008" => "取引パスワードが指定されていないか、書式が不正です。",
        "E01110002" => "指定されたIDとパスワードの取引が存在しません。",
        "E01170001" => "カード番号が指定されていません。",
        "E01170011" => "カード番号が10桁～16桁の範囲ではありません。",
        "E01180001" => "有効期限が指定されていません。",
        "E01260001" => "支払方法が指定されていません。",
        "E01260010" => "指定された支払方法はご利用できません。",
        "E01420010" => "仮売上有効期間を超えています。",
        "E01490005" => "利用金額・税送料の合計値が有効な範囲を超えています。",
        "E00000001" => "HTTPメソッドが不正です。",
        "E00000003" => "リクエストの形式が不正です。",
        "E01020008" => {
            "ショップパスワードに半角英数字以外の文字が含まれているか、10文字を超えています。"
        }
        "E01070005" => "税送料が最大桁数を超えています。",
        "E01070006" => "税送料に数字以外の文字が含まれています。",
        "E01080007" => "3Dセキュア使用フラグに無効な値が指定されています。",
        "E01170006" => "カード番号に数字以外の文字が含まれています。",
        "E01180003" => "有効期限が4桁ではありません。",
        "E01180006" => "有効期限に数字以外の文字が含まれています。",
        "E01210002" => "指定されたIDとパスワードのサイトが存在しません。",
        "E01260002" => "指定された支払方法が存在しません。",
        "E01270001" => "支払回数が指定されていません。",
        "E01270005" => "支払回数が最大桁数を超えています。",
        "E01270006" => "支払回数に数字以外の文字が含まれています。",
        "E01270010" => "指定された支払回数はご利用できません。",
        "E01320012" => "加盟店自由項目1の値が最大バイト数を超えています。",
        "E01330012" => "加盟店自由項目2の値が最大バイト数を超えています。",
        "E01340012" => "加盟店自由項目3の値が最大バイト数を超えています。",
        "E01400007" => "加盟店自由項目返却フラグに\"0\",\"1\"以外の値が指定されています。",
        "E01450008" => "商品コードの書式が正しくありません。",
        "E01460008" => "セキュリティコードの書式が正しくありません。",
        "E01530001" => "決済結果戻り先URLが設定されていません。",
        "E91099997" => "リクエストされたAPIは存在しません。",
        "E91099999" => "決済処理に失敗しました。(結果不明)",
        "E21030007" => "3Dセキュア2.0の本人認証に失敗しました。",
        "E11010001" => "この取引は既に決済が終了しています。",
        "E11010002" => "この取引は決済が終了していませんので、変更する事が出来ません。",
        "E11010003" => "この取引は指定処理区分の取引ではありません。",
        "E11010010" => "180日超えの取引のため、処理を行う事が出来ません。",
        "E31500014" => "POST以外のHTTPメソッドは利用できません。",
        "E61040001" => "カード番号(非保持化対象)での決済は契約上ご利用できません。",
        "E82010001" => "同一サイトで同時実行中です。",
        "E90010001" => "現在処理を行っているのでもうしばらくお待ち下さい。",
        "E91019999" => "決済処理に失敗しました。(システムエラー)",
        "E91020001" => "通信タイムアウトが発生しました。",
        "E92000001" => {
            "只今、大変込み合っていますので、しばらく時間をあけて再度決済を行ってください。"
        }
        "EX1000301" => "トークンが存在しません。",
        "EX1000302" => "トークンは既に使用済みです。",
        "EX1000303" => "トークンの有効期限が切れています。",
        "EX1000304" => "トークンが不正です。",
        "42G020000" => "カード残高が不足しているために、決済を完了する事が出来ませんでした。",
        "42G030000" => "カード限度額を超えているために、決済を完了する事が出来ませんでした。",
        "42G120000" => "このカードでは取引をする事が出来ません。",
        "42G440000" => "セキュリティーコードが誤っていた為に、決済を完了する事が出来ませんでした。",
        "42G650000" => "カード番号に誤りがあるために、決済を完了する事が出来ませんでした。",
        "42G830000" => "有効期限に誤りがあるために、決済を完了する事が出来ませんでした。",
        "42C010000" => "カード会社との通信に失敗しました。(結果不明)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(s: &str) -> Vec<(String, String)> {
        crate::gmo::codec::decode_response(s.as_bytes()).expect("decodes")
    }

    #[test]
    fn recorded_multi_error_answer() {
        let e = GmoErrors::from_params(&params(
            "ErrCode=E01|E01|E01&ErrInfo=E01090008|E01100008|E01110002",
        ))
        .expect("is an error");
        assert_eq!(e.0.len(), 3);
        assert_eq!(
            e.0[2],
            GmoErrInfo {
                code: "E01".into(),
                info: "E01110002".into()
            }
        );
        assert_eq!(e.meaning().class, ErrorClass::Rejected);
        assert_eq!(e.joined().1, "E01090008|E01100008|E01110002");
    }

    #[test]
    fn success_has_no_error() {
        assert!(GmoErrors::from_params(&params("AccessID=a&AccessPass=b")).is_none());
    }

    #[test]
    fn decline_classes_and_messages() {
        let cases = [
            (
                "42G020000",
                ErrorClass::Declined,
                ShopperMessage::InsufficientFunds,
            ),
            (
                "42G030000",
                ErrorClass::Declined,
                ShopperMessage::InsufficientFunds,
            ),
            (
                "42G550000",
                ErrorClass::Declined,
                ShopperMessage::InsufficientFunds,
            ),
            // 42G12 is "card not usable", not a card-number error (reference §3b).
            (
                "42G120000",
                ErrorClass::Declined,
                ShopperMessage::CardUnusable,
            ),
            (
                "42G920000",
                ErrorClass::Declined,
                ShopperMessage::CardUnusable,
            ),
            (
                "42G440000",
                ErrorClass::ShopperInput,
                ShopperMessage::SecurityCode,
            ),
            (
                "42G650000",
                ErrorClass::ShopperInput,
                ShopperMessage::CardNumber,
            ),
            (
                "42G830000",
                ErrorClass::ShopperInput,
                ShopperMessage::Expiry,
            ),
            (
                "42G700000",
                ErrorClass::Declined,
                ShopperMessage::PaymentMethod,
            ),
            (
                "EX1000302",
                ErrorClass::ShopperInput,
                ShopperMessage::TokenExpired,
            ),
            ("E92000001", ErrorClass::Busy, ShopperMessage::Busy),
            (
                "E91020001",
                ErrorClass::OutcomeUnknown,
                ShopperMessage::Failed,
            ),
            (
                "E90010001",
                ErrorClass::OutcomeUnknown,
                ShopperMessage::Failed,
            ),
            (
                "42C010000",
                ErrorClass::OutcomeUnknown,
                ShopperMessage::Failed,
            ),
            (
                "E01040010",
                ErrorClass::OrderIdExists,
                ShopperMessage::Failed,
            ),
            (
                "E01420010",
                ErrorClass::AuthorizationExpired,
                ShopperMessage::Failed,
            ),
            (
                "E11010001",
                ErrorClass::StateConflict,
                ShopperMessage::Failed,
            ),
            (
                "E21030007",
                ErrorClass::ThreeDSecure,
                ShopperMessage::ThreeDSecure,
            ),
            (
                "E01170011",
                ErrorClass::ShopperInput,
                ShopperMessage::CardNumber,
            ),
            ("E61040001", ErrorClass::Rejected, ShopperMessage::Failed),
        ];
        for (info, class, msg) in cases {
            assert_eq!(
                classify(info),
                Meaning {
                    class,
                    shopper: msg
                },
                "{info}"
            );
        }
    }

    #[test]
    fn unknown_outcome_outranks_other_pairs() {
        let e = GmoErrors(vec![
            GmoErrInfo {
                code: "G02".into(),
                info: "42G020000".into(),
            },
            GmoErrInfo {
                code: "E91".into(),
                info: "E91020001".into(),
            },
        ]);
        assert_eq!(e.meaning().class, ErrorClass::OutcomeUnknown);
    }

    #[test]
    fn err_code_pairs() {
        assert_eq!(err_code_for("42G020000"), "G02");
        assert_eq!(err_code_for("42C010000"), "C01");
        assert_eq!(err_code_for("E01040010"), "E01");
        assert_eq!(err_code_for("EX1000301"), "EX1");
        assert_eq!(err_code_for("E31500014"), "E00");
    }

    #[test]
    fn sandbox_codes_are_described() {
        // Codes the sandbox answers; an operator reading the event history sees their meaning.
        for code in [
            "E01270001",
            "E01530001",
            "E91099997",
            "EX1000303",
            "42C010000",
        ] {
            assert!(!describe_ja(code).is_empty(), "{code}");
        }
        assert_eq!(describe_ja("ZZZ"), "");
    }

    #[test]
    fn every_message_has_both_languages() {
        use ShopperMessage::*;
        for s in [
            InsufficientFunds,
            CardUnusable,
            CardNumber,
            Expiry,
            SecurityCode,
            PaymentMethod,
            ThreeDSecure,
            TokenExpired,
            Busy,
            Failed,
        ] {
            assert!(!s.ja().is_empty() && s.ja().is_char_boundary(0));
            assert!(s.en().is_ascii() && !s.en().is_empty());
            // Never tell the shopper "charged" (決済完了) in a failure message.
            assert!(!s.ja().contains("完了しました"));
        }
    }

    proptest! {
        /// No string classifies as anything that would let a payment be taken as done, and
        /// classification is total.
        #[test]
        fn classification_is_total(s in "\\PC{0,12}") {
            let _ = classify(&s);
        }
    }
}
