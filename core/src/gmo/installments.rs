//! 支払回数 (installments): what the shopper picks and the shop's card contract allows, and
//! GMO's `Method` / `PayTimes` for it (reference §2b).

use super::codec::Params;

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// 支払回数: GMO's `Method` (and `PayTimes` for 分割). [C] `1` 一括, `2` 分割, `3` ボーナス一括,
/// `4` ボーナス分割 (not offered), `5` リボ; some libraries swap 4 and 5, GMO's own does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installments {
    Lump,
    Split(u8),
    BonusLump,
    Revolving,
}

/// The split counts a card company may offer; a shop's contract allows a subset.
pub const SPLIT_COUNTS: [u8; 9] = [3, 5, 6, 10, 12, 15, 18, 20, 24];

impl Installments {
    pub fn params(self) -> Params {
        match self {
            Installments::Lump => vec![p("Method", "1")],
            Installments::Split(n) => vec![p("Method", "2"), p("PayTimes", n.to_string())],
            Installments::BonusLump => vec![p("Method", "3")],
            Installments::Revolving => vec![p("Method", "5")],
        }
    }

    /// The API's name: `lump`, `split_3`, `bonus`, `revolving`.
    pub fn code(self) -> String {
        match self {
            Installments::Lump => "lump".into(),
            Installments::Split(n) => format!("split_{n}"),
            Installments::BonusLump => "bonus".into(),
            Installments::Revolving => "revolving".into(),
        }
    }

    pub fn parse(code: &str) -> Option<Installments> {
        match code {
            "lump" => Some(Installments::Lump),
            "bonus" => Some(Installments::BonusLump),
            "revolving" => Some(Installments::Revolving),
            other => {
                let n: u8 = other.strip_prefix("split_")?.parse().ok()?;
                SPLIT_COUNTS.contains(&n).then_some(Installments::Split(n))
            }
        }
    }

    pub fn label_ja(self) -> String {
        match self {
            Installments::Lump => "一括払い".into(),
            Installments::Split(n) => format!("分割払い（{n}回）"),
            Installments::BonusLump => "ボーナス一括払い".into(),
            Installments::Revolving => "リボ払い".into(),
        }
    }

    /// The English label the widget shows when the shopper switched to English.
    pub fn label_en(self) -> String {
        match self {
            Installments::Lump => "Single payment".into(),
            Installments::Split(n) => format!("{n} installments"),
            Installments::BonusLump => "Bonus single payment".into(),
            Installments::Revolving => "Revolving".into(),
        }
    }
}

/// What the shop's card contract allows beyond 一括 (config `CARD_INSTALLMENTS`, e.g.
/// `3,5,6,10,12,bonus,revolving`; empty: 一括 only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallmentPlan {
    pub split: Vec<u8>,
    pub bonus: bool,
    pub revolving: bool,
}

impl InstallmentPlan {
    /// Reads the config value; the bad item on error.
    pub fn parse(raw: &str) -> Result<InstallmentPlan, String> {
        let mut plan = InstallmentPlan::default();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "bonus" => plan.bonus = true,
                "revolving" => plan.revolving = true,
                n => match n.parse::<u8>() {
                    Ok(n) if SPLIT_COUNTS.contains(&n) => {
                        if !plan.split.contains(&n) {
                            plan.split.push(n);
                        }
                    }
                    _ => return Err(item.to_string()),
                },
            }
        }
        plan.split.sort_unstable();
        Ok(plan)
    }

    pub fn allows(&self, pay: Installments) -> bool {
        match pay {
            Installments::Lump => true,
            Installments::Split(n) => self.split.contains(&n),
            Installments::BonusLump => self.bonus,
            Installments::Revolving => self.revolving,
        }
    }

    /// Every choice the widget offers, 一括 first.
    pub fn choices(&self) -> Vec<Installments> {
        let mut v = vec![Installments::Lump];
        v.extend(self.split.iter().map(|&n| Installments::Split(n)));
        if self.bonus {
            v.push(Installments::BonusLump);
        }
        if self.revolving {
            v.push(Installments::Revolving);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installments_round_trip_and_follow_the_contract() {
        for pay in [
            Installments::Lump,
            Installments::Split(3),
            Installments::Split(24),
            Installments::BonusLump,
            Installments::Revolving,
        ] {
            assert_eq!(Installments::parse(&pay.code()), Some(pay));
        }
        assert_eq!(
            Installments::parse("split_4"),
            None,
            "not a count GMO offers"
        );
        assert_eq!(Installments::parse("split_"), None);
        assert_eq!(
            Installments::Split(3).params(),
            vec![p("Method", "2"), p("PayTimes", "3")]
        );
        assert_eq!(Installments::Revolving.params(), vec![p("Method", "5")]);
        assert_eq!(Installments::Split(10).label_ja(), "分割払い（10回）");
        assert_eq!(Installments::Split(10).label_en(), "10 installments");
        assert_eq!(Installments::BonusLump.label_en(), "Bonus single payment");
        let plan = InstallmentPlan::parse("12, 3,bonus,3").expect("plan");
        assert_eq!(plan.split, vec![3, 12]);
        assert!(plan.allows(Installments::Split(3)) && !plan.allows(Installments::Split(5)));
        assert!(plan.allows(Installments::BonusLump) && !plan.allows(Installments::Revolving));
        assert_eq!(plan.choices().len(), 4);
        assert_eq!(InstallmentPlan::parse("4"), Err("4".into()));
        assert_eq!(
            InstallmentPlan::parse("").map(|p| p.choices()),
            Ok(vec![Installments::Lump])
        );
    }
}
