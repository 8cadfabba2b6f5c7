//! The widget's own words, Japanese first. Field and decline messages come from kessai-core.
//!
//! One table, indexed by [`Key`]: a text in the widget's markup is an element with
//! `data-t="<key's letter>"` ([`attr`]), filled in by [`crate::dom::translate`] at start and on
//! every language switch, so the markup itself is the same in both languages.

use kessai_core::card::Lang;

#[derive(Clone, Copy)]
#[repr(u8)]
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

/// `[Japanese, English]` per [`Key`], in the order of the enum.
static TEXTS: [[&str; 2]; 39] = [
    ["クレジットカード", "Credit card"],
    ["カード番号", "Card number"],
    [
        "VISA / Mastercard / JCB / AMEX / Diners(全角数字も入力できます)",
        "Visa / Mastercard / JCB / Amex / Diners",
    ],
    ["有効期限", "Expiry"],
    ["月/年 (MM/YY)", "MM/YY"],
    ["セキュリティコード", "Security code"],
    [
        "カード裏面の3桁(AMEXは表面の4桁)",
        "3 digits on the back (Amex: 4 on the front)",
    ],
    ["カード名義", "Name on card"],
    [
        "半角英字 (例: TARO YAMADA)",
        "As printed (e.g. TARO YAMADA)",
    ],
    ["を支払う", "Pay"],
    ["お支払い処理中…", "Processing payment…"],
    [
        "お支払い情報を読み込んでいます…",
        "Loading payment details…",
    ],
    [
        "お支払い情報を読み込めませんでした。ページを再読み込みしてください。",
        "The payment details could not be loaded. Please reload the page.",
    ],
    [
        "お支払いフォームを表示できません。ショップにお問い合わせください。",
        "The payment form cannot be shown. Please contact the shop.",
    ],
    [
        "通信できませんでした。通信環境をご確認のうえ、もう一度お試しください。",
        "Could not connect. Please check your connection and try again.",
    ],
    [
        "決済結果を確認中です。このままお待ちください。再度お支払いはしないでください。",
        "Confirming the payment result. Please wait and do not pay again.",
    ],
    [
        "決済結果の確認に時間がかかっています。二重決済を防ぐため再度お支払いはせず、ショップからのご連絡をお待ちください。",
        "Confirming the result is taking longer. To avoid paying twice, do not pay again; the shop will contact you.",
    ],
    [
        "お支払いは完了していません(請求はありません)。もう一度お試しください。",
        "The payment did not go through (you were not charged). Please try again.",
    ],
    [
        "入力内容をご確認ください。",
        "Please check the highlighted fields.",
    ],
    [
        "お支払いが完了しました。(与信確保済み・仮売上)",
        "Payment complete. (Authorized)",
    ],
    [
        "お支払いが完了しました。(売上確定・実売上)",
        "Payment complete. (Captured)",
    ],
    // Where the card goes, and the EMV 3-D Secure consent (one text: one binding fewer).
    [
        "カード情報は決済代行会社(GMOペイメントゲートウェイ)に直接送信され、ショップには保存されません。本人認証(3Dセキュア)のため、カード・端末・メールの情報をカード発行会社に提供し、不正検知に利用します。",
        "Card details go directly to the payment processor (GMO Payment Gateway); the shop never stores them. For 3-D Secure authentication, card, device and e-mail data go to your card issuer to detect fraud. ",
    ],
    ["テストモード", "Test mode"],
    [
        "このお支払いは受付を終了しています。ショップにお問い合わせください。",
        "This payment can no longer be made. Please contact the shop.",
    ],
    ["または", "or"],
    [
        "Amazon Payを表示できませんでした。クレジットカードでお支払いいただくか、ページを再読み込みしてください。",
        "Amazon Pay could not be shown. Please pay by card or reload the page.",
    ],
    [
        "Amazon Payでのお支払いが完了しませんでした(請求はありません)。別のお支払い方法をお試しください。",
        "The Amazon Pay payment did not go through (you were not charged). Please try another payment method.",
    ],
    [
        "Amazon Payでのお支払いは中止されました(請求はありません)。",
        "The Amazon Pay payment was canceled (you were not charged).",
    ],
    [
        "Amazonアカウントに登録された住所とお支払い方法を使えます。",
        "Use the address and payment method in your Amazon account.",
    ],
    ["プライバシーポリシー", "Privacy policy"],
    [
        "本人認証に失敗しました(請求はありません)。もう一度お試しください。",
        "Authentication failed (you were not charged). Please try again.",
    ],
    ["登録済みのカード", "Saved cards"],
    ["新しいカードを使う", "Use a new card"],
    [
        "このカードを登録する(次回から入力を省けます)",
        "Save this card for next time",
    ],
    ["お支払い回数", "Number of payments"],
    ["(有効期限切れ)", "(expired)"],
    ["カードを登録する", "Save card"],
    ["カードを登録しました。", "Your card has been saved."],
    [
        "このカードは定期購入のお支払いに登録されます。",
        "This card will be saved to pay your subscription.",
    ],
];

fn column(lang: Lang) -> usize {
    match lang {
        Lang::Ja => 0,
        Lang::En => 1,
    }
}

pub fn text(lang: Lang, key: Key) -> &'static str {
    TEXTS[key as usize][column(lang)]
}

/// One letter per key, the `data-t` values.
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm";

/// Every text in `lang`, in [`Key`] order, for js/interop.js's `translate` (a `data-t` letter
/// is an index: `A` the first).
pub fn texts(lang: Lang) -> js_sys::Array {
    TEXTS
        .iter()
        .map(|t| wasm_bindgen::JsValue::from_str(t[column(lang)]))
        .collect()
}

/// The `data-t` letters of some keys as one `&'static str`, worked out at compile time (no
/// mapping and joining code in the wasm), for js/interop.js's HTML builders.
macro_rules! letters {
    ($($key:expr),+ $(,)?) => {{
        const KEYS: &[$crate::i18n::Key] = &[$($key),+];
        const BYTES: [u8; KEYS.len()] = $crate::i18n::letter_bytes(KEYS);
        match ::core::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => "",
        }
    }};
}
pub(crate) use letters;

/// The `data-t` letters of `keys` (see [`letters!`]); `N` is `keys.len()`.
pub const fn letter_bytes<const N: usize>(keys: &[Key]) -> [u8; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = LETTERS.as_bytes()[keys[i] as usize];
        i += 1;
    }
    out
}

/// The `data-t` value of `key`: one letter (`A` for the first key).
pub fn attr(key: Key) -> &'static str {
    let i = key as usize;
    LETTERS.get(i..i + 1).unwrap_or_default()
}

/// The pay button's label: 「¥3,300 を支払う」 / "Pay ¥3,300".
pub fn pay_label(lang: Lang, amount: &str) -> String {
    match lang {
        Lang::Ja => [amount, " ", text(lang, Key::Pay)].concat(),
        Lang::En => [text(lang, Key::Pay), " ", amount].concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_the_keys_data_t_values() {
        let keys = [Key::SavedCards, Key::Expired, Key::Expiry, Key::NewCard];
        assert_eq!(
            letters!(Key::SavedCards, Key::Expired, Key::Expiry, Key::NewCard),
            keys.map(attr).concat()
        );
        assert_eq!(letters!(Key::Title, Key::SubscriptionSave), "Am");
    }
}
