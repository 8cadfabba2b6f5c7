//! The widget's own words, Japanese first. Field and decline messages come from kessai-core.

use kessai_core::card::Lang;

#[derive(Clone, Copy)]
pub enum Key {
    Title,
    Number,
    NumberHint,
    Expiry,
    ExpiryHint,
    Cvc,
    CvcHint,
    Holder,
    HolderHint,
    Pay,
    Paying,
    Loading,
    LoadFailed,
    Misconfigured,
    Network,
    Confirming,
    StillUnknown,
    NotCharged,
    Fix,
    PaidAuthorized,
    PaidCaptured,
    Secure,
    TestMode,
    Closed,
    Or,
    AmazonUnavailable,
    AmazonNotPaid,
    AmazonCanceled,
    AmazonNote,
    SignInUnavailable,
    Privacy,
    TdsFailed,
    SavedCards,
    NewCard,
    SaveCard,
    Installments,
    Expired,
    Register,
    Registered,
    SubscriptionSave,
}

pub fn text(lang: Lang, key: Key) -> &'static str {
    use Key::*;
    match (lang, key) {
        (Lang::Ja, Title) => "クレジットカード",
        (Lang::Ja, Number) => "カード番号",
        (Lang::Ja, NumberHint) => "VISA / Mastercard / JCB / AMEX / Diners(全角数字も入力できます)",
        (Lang::Ja, Expiry) => "有効期限",
        (Lang::Ja, ExpiryHint) => "月/年 (MM/YY)",
        (Lang::Ja, Cvc) => "セキュリティコード",
        (Lang::Ja, CvcHint) => "カード裏面の3桁(AMEXは表面の4桁)",
        (Lang::Ja, Holder) => "カード名義",
        (Lang::Ja, HolderHint) => "半角英字 (例: TARO YAMADA)",
        (Lang::Ja, Pay) => "を支払う",
        (Lang::Ja, Paying) => "お支払い処理中…",
        (Lang::Ja, Loading) => "お支払い情報を読み込んでいます…",
        (Lang::Ja, LoadFailed) => {
            "お支払い情報を読み込めませんでした。ページを再読み込みしてください。"
        }
        (Lang::Ja, Misconfigured) => {
            "お支払いフォームを表示できません。ショップにお問い合わせください。"
        }
        (Lang::Ja, Network) => {
            "通信できませんでした。通信環境をご確認のうえ、もう一度お試しください。"
        }
        (Lang::Ja, Confirming) => {
            "決済結果を確認中です。このままお待ちください。再度お支払いはしないでください。"
        }
        (Lang::Ja, StillUnknown) => {
            "決済結果の確認に時間がかかっています。二重決済を防ぐため再度お支払いはせず、ショップからのご連絡をお待ちください。"
        }
        (Lang::Ja, NotCharged) => {
            "お支払いは完了していません(請求はありません)。もう一度お試しください。"
        }
        (Lang::Ja, Fix) => "入力内容をご確認ください。",
        (Lang::Ja, PaidAuthorized) => "お支払いが完了しました。(与信確保済み・仮売上)",
        (Lang::Ja, PaidCaptured) => "お支払いが完了しました。(売上確定・実売上)",
        // Where the card goes, and the EMV 3-D Secure consent (one text: one binding fewer).
        (Lang::Ja, Secure) => {
            "カード情報は決済代行会社(GMOペイメントゲートウェイ)に直接送信され、ショップには保存されません。本人認証(3Dセキュア)のため、カード・端末・メールの情報をカード発行会社に提供し、不正検知に利用します。"
        }
        (Lang::Ja, TestMode) => "テストモード",
        (Lang::Ja, Closed) => {
            "このお支払いは受付を終了しています。ショップにお問い合わせください。"
        }
        (Lang::Ja, Or) => "または",
        (Lang::Ja, AmazonUnavailable) => {
            "Amazon Payを表示できませんでした。クレジットカードでお支払いいただくか、ページを再読み込みしてください。"
        }
        (Lang::Ja, AmazonNotPaid) => {
            "Amazon Payでのお支払いが完了しませんでした(請求はありません)。別のお支払い方法をお試しください。"
        }
        (Lang::Ja, AmazonCanceled) => "Amazon Payでのお支払いは中止されました(請求はありません)。",
        (Lang::Ja, AmazonNote) => "Amazonアカウントに登録された住所とお支払い方法を使えます。",
        (Lang::Ja, SignInUnavailable) => {
            "Amazonでログインを表示できませんでした。ページを再読み込みしてください。"
        }
        (Lang::Ja, Privacy) => "プライバシーポリシー",
        (Lang::Ja, TdsFailed) => {
            "本人認証に失敗しました(請求はありません)。もう一度お試しください。"
        }
        (Lang::Ja, SavedCards) => "登録済みのカード",
        (Lang::Ja, NewCard) => "新しいカードを使う",
        (Lang::Ja, SaveCard) => "このカードを登録する(次回から入力を省けます)",
        (Lang::Ja, Installments) => "お支払い回数",
        (Lang::Ja, Expired) => "(有効期限切れ)",
        (Lang::Ja, Register) => "カードを登録する",
        (Lang::Ja, Registered) => "カードを登録しました。",
        (Lang::Ja, SubscriptionSave) => "このカードは定期購入のお支払いに登録されます。",
        (Lang::En, Title) => "Credit card",
        (Lang::En, Number) => "Card number",
        (Lang::En, NumberHint) => "Visa / Mastercard / JCB / Amex / Diners",
        (Lang::En, Expiry) => "Expiry",
        (Lang::En, ExpiryHint) => "MM/YY",
        (Lang::En, Cvc) => "Security code",
        (Lang::En, CvcHint) => "3 digits on the back (Amex: 4 on the front)",
        (Lang::En, Holder) => "Name on card",
        (Lang::En, HolderHint) => "As printed (e.g. TARO YAMADA)",
        (Lang::En, Pay) => "Pay",
        (Lang::En, Paying) => "Processing payment…",
        (Lang::En, Loading) => "Loading payment details…",
        (Lang::En, LoadFailed) => {
            "The payment details could not be loaded. Please reload the page."
        }
        (Lang::En, Misconfigured) => "The payment form cannot be shown. Please contact the shop.",
        (Lang::En, Network) => "Could not connect. Please check your connection and try again.",
        (Lang::En, Confirming) => {
            "Confirming the payment result. Please wait and do not pay again."
        }
        (Lang::En, StillUnknown) => {
            "Confirming the result is taking longer. To avoid paying twice, do not pay again; the shop will contact you."
        }
        (Lang::En, NotCharged) => {
            "The payment did not go through (you were not charged). Please try again."
        }
        (Lang::En, Fix) => "Please check the highlighted fields.",
        (Lang::En, PaidAuthorized) => "Payment complete. (Authorized)",
        (Lang::En, PaidCaptured) => "Payment complete. (Captured)",
        (Lang::En, Secure) => {
            "Card details go directly to the payment processor (GMO Payment Gateway); the shop never stores them. For 3-D Secure authentication, card, device and e-mail data go to your card issuer to detect fraud. "
        }
        (Lang::En, TestMode) => "Test mode",
        (Lang::En, Closed) => "This payment can no longer be made. Please contact the shop.",
        (Lang::En, Or) => "or",
        (Lang::En, AmazonUnavailable) => {
            "Amazon Pay could not be shown. Please pay by card or reload the page."
        }
        (Lang::En, AmazonNotPaid) => {
            "The Amazon Pay payment did not go through (you were not charged). Please try another payment method."
        }
        (Lang::En, AmazonCanceled) => "The Amazon Pay payment was canceled (you were not charged).",
        (Lang::En, AmazonNote) => "Use the address and payment method in your Amazon account.",
        (Lang::En, SignInUnavailable) => {
            "Sign-in with Amazon could not be shown. Please reload the page."
        }
        (Lang::En, Privacy) => "Privacy policy",
        (Lang::En, SavedCards) => "Saved cards",
        (Lang::En, NewCard) => "Use a new card",
        (Lang::En, SaveCard) => "Save this card for next time",
        (Lang::En, Installments) => "Number of payments",
        (Lang::En, Expired) => "(expired)",
        (Lang::En, Register) => "Save card",
        (Lang::En, Registered) => "Your card has been saved.",
        (Lang::En, SubscriptionSave) => "This card will be saved to pay your subscription.",
        (Lang::En, TdsFailed) => "Authentication failed (you were not charged). Please try again.",
    }
}

/// The pay button's label: 「¥3,300 を支払う」 / "Pay ¥3,300".
pub fn pay_label(lang: Lang, amount: &str) -> String {
    match lang {
        Lang::Ja => [amount, " ", text(lang, Key::Pay)].concat(),
        Lang::En => [text(lang, Key::Pay), " ", amount].concat(),
    }
}
