//! Credit transaction statuses and the operations each allows (reference §2c).
//! The sandbox enforces these rules; the edge uses them to refuse what GMO would refuse.

use serde::{Deserialize, Serialize};

use crate::jst::JstDateTime;

/// `Status` as SearchTrade reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TranStatus {
    Unprocessed,
    Authenticated,
    Check,
    Capture,
    Auth,
    Sales,
    Void,
    Return,
    Returnx,
    Sauth,
}

impl TranStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TranStatus::Unprocessed => "UNPROCESSED",
            TranStatus::Authenticated => "AUTHENTICATED",
            TranStatus::Check => "CHECK",
            TranStatus::Capture => "CAPTURE",
            TranStatus::Auth => "AUTH",
            TranStatus::Sales => "SALES",
            TranStatus::Void => "VOID",
            TranStatus::Return => "RETURN",
            TranStatus::Returnx => "RETURNX",
            TranStatus::Sauth => "SAUTH",
        }
    }
    pub fn parse(s: &str) -> Option<TranStatus> {
        Some(match s {
            "UNPROCESSED" => TranStatus::Unprocessed,
            "AUTHENTICATED" => TranStatus::Authenticated,
            "CHECK" => TranStatus::Check,
            "CAPTURE" => TranStatus::Capture,
            "AUTH" => TranStatus::Auth,
            "SALES" => TranStatus::Sales,
            "VOID" => TranStatus::Void,
            "RETURN" => TranStatus::Return,
            "RETURNX" => TranStatus::Returnx,
            "SAUTH" => TranStatus::Sauth,
            _ => return None,
        })
    }
    /// Statuses where ExecTran has completed (a second ExecTran gets E11010001).
    pub fn is_settled(self) -> bool {
        match self {
            TranStatus::Unprocessed | TranStatus::Authenticated => false,
            TranStatus::Check
            | TranStatus::Capture
            | TranStatus::Auth
            | TranStatus::Sales
            | TranStatus::Void
            | TranStatus::Return
            | TranStatus::Returnx
            | TranStatus::Sauth => true,
        }
    }
}

/// `JobCd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobCd {
    Check,
    Capture,
    Auth,
    Sauth,
    Sales,
    Void,
    Return,
    Returnx,
}

impl JobCd {
    pub fn as_str(self) -> &'static str {
        match self {
            JobCd::Check => "CHECK",
            JobCd::Capture => "CAPTURE",
            JobCd::Auth => "AUTH",
            JobCd::Sauth => "SAUTH",
            JobCd::Sales => "SALES",
            JobCd::Void => "VOID",
            JobCd::Return => "RETURN",
            JobCd::Returnx => "RETURNX",
        }
    }
    pub fn parse(s: &str) -> Option<JobCd> {
        Some(match s {
            "CHECK" => JobCd::Check,
            "CAPTURE" => JobCd::Capture,
            "AUTH" => JobCd::Auth,
            "SAUTH" => JobCd::Sauth,
            "SALES" => JobCd::Sales,
            "VOID" => JobCd::Void,
            "RETURN" => JobCd::Return,
            "RETURNX" => JobCd::Returnx,
            _ => return None,
        })
    }
    /// Job codes EntryTran accepts.
    pub fn valid_for_entry(self) -> bool {
        matches!(
            self,
            JobCd::Check | JobCd::Capture | JobCd::Auth | JobCd::Sauth
        )
    }
    /// The status a successful ExecTran with this JobCd leaves.
    pub fn exec_result(self) -> Option<TranStatus> {
        match self {
            JobCd::Check => Some(TranStatus::Check),
            JobCd::Capture => Some(TranStatus::Capture),
            JobCd::Auth => Some(TranStatus::Auth),
            JobCd::Sauth => Some(TranStatus::Sauth),
            JobCd::Sales | JobCd::Void | JobCd::Return | JobCd::Returnx => None,
        }
    }
}

/// Why GMO refuses an AlterTran / ChangeTran: the ErrInfo it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

/// The status AlterTran with `job` moves `from` to, or GMO's refusal.
pub fn alter(from: TranStatus, job: JobCd) -> Result<TranStatus, Refusal> {
    use TranStatus as S;
    match from {
        S::Unprocessed | S::Authenticated => Err(Refusal("E11010002")),
        S::Auth => match job {
            JobCd::Sales => Ok(S::Sales),
            JobCd::Void => Ok(S::Void),
            JobCd::Return => Ok(S::Return),
            // RETURNX is for sales already in a past month's billing (reference §4a).
            JobCd::Returnx => Err(Refusal("E01050004")),
            JobCd::Auth | JobCd::Capture | JobCd::Check | JobCd::Sauth => Err(Refusal("E01050004")),
        },
        S::Sauth => match job {
            JobCd::Sales => Ok(S::Sales),
            JobCd::Void => Ok(S::Void),
            JobCd::Return => Ok(S::Return),
            JobCd::Returnx | JobCd::Auth | JobCd::Capture | JobCd::Check | JobCd::Sauth => {
                Err(Refusal("E01050004"))
            }
        },
        S::Sales | S::Capture => match job {
            JobCd::Void => Ok(S::Void),
            JobCd::Return => Ok(S::Return),
            JobCd::Returnx => Ok(S::Returnx),
            JobCd::Sales => Err(Refusal("E11010003")),
            JobCd::Auth | JobCd::Capture | JobCd::Check | JobCd::Sauth => Err(Refusal("E01050004")),
        },
        // Re-authorisation (再オーソリ) only from a cancelled transaction.
        S::Void | S::Return | S::Returnx => match job {
            JobCd::Auth => Ok(S::Auth),
            JobCd::Capture => Ok(S::Capture),
            JobCd::Sauth => Ok(S::Sauth),
            JobCd::Sales | JobCd::Void | JobCd::Return | JobCd::Returnx | JobCd::Check => {
                Err(Refusal("E01050004"))
            }
        },
        S::Check => Err(Refusal("E01050004")),
    }
}

/// ChangeTran (amount change) is allowed on AUTH, SALES and CAPTURE; the JobCd must be AUTH or
/// CAPTURE. [U] Whether ChangeTran from SALES yields SALES or CAPTURE on the real host is not
/// documented; we keep the family (SALES/CAPTURE stay captured).
pub fn change(from: TranStatus, job: JobCd) -> Result<TranStatus, Refusal> {
    use TranStatus as S;
    if !matches!(job, JobCd::Auth | JobCd::Capture | JobCd::Sauth) {
        return Err(Refusal("E01050002"));
    }
    match from {
        S::Auth | S::Sauth => Ok(from),
        S::Sales | S::Capture => Ok(from),
        S::Unprocessed | S::Authenticated => Err(Refusal("E11010002")),
        S::Check | S::Void | S::Return | S::Returnx => Err(Refusal("E01050004")),
    }
}

/// Days after which GMO refuses any change to a transaction (`E11010010`, reference §4b).
pub const CHANGE_LIMIT_DAYS: i64 = 180;

/// The cancel `JobCd` GMO's own plugins choose (reference §4a): same JST day as the
/// transaction's last `TranDate` → VOID, same JST month → RETURN, later → RETURNX, except that an
/// AUTH (never billed) is always cancelled with RETURN after its day. The 180-day limit is a
/// separate refusal ([`CHANGE_LIMIT_DAYS`]).
pub fn cancel_job(from: TranStatus, last_tran: &JstDateTime, now: &JstDateTime) -> JobCd {
    if now.same_day(last_tran) {
        JobCd::Void
    } else if now.same_month(last_tran) || from == TranStatus::Auth {
        JobCd::Return
    } else {
        JobCd::Returnx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL_STATUS: [TranStatus; 10] = [
        TranStatus::Unprocessed,
        TranStatus::Authenticated,
        TranStatus::Check,
        TranStatus::Capture,
        TranStatus::Auth,
        TranStatus::Sales,
        TranStatus::Void,
        TranStatus::Return,
        TranStatus::Returnx,
        TranStatus::Sauth,
    ];
    const ALL_JOBS: [JobCd; 8] = [
        JobCd::Check,
        JobCd::Capture,
        JobCd::Auth,
        JobCd::Sauth,
        JobCd::Sales,
        JobCd::Void,
        JobCd::Return,
        JobCd::Returnx,
    ];

    #[test]
    fn names_round_trip() {
        for s in ALL_STATUS {
            assert_eq!(TranStatus::parse(s.as_str()), Some(s));
        }
        for j in ALL_JOBS {
            assert_eq!(JobCd::parse(j.as_str()), Some(j));
        }
    }

    #[test]
    fn reference_table() {
        assert_eq!(alter(TranStatus::Auth, JobCd::Sales), Ok(TranStatus::Sales));
        assert_eq!(alter(TranStatus::Auth, JobCd::Void), Ok(TranStatus::Void));
        assert_eq!(
            alter(TranStatus::Sales, JobCd::Returnx),
            Ok(TranStatus::Returnx)
        );
        assert_eq!(alter(TranStatus::Void, JobCd::Auth), Ok(TranStatus::Auth));
        assert_eq!(
            alter(TranStatus::Auth, JobCd::Auth),
            Err(Refusal("E01050004"))
        );
        assert_eq!(
            alter(TranStatus::Unprocessed, JobCd::Sales),
            Err(Refusal("E11010002"))
        );
        assert_eq!(change(TranStatus::Auth, JobCd::Auth), Ok(TranStatus::Auth));
        assert_eq!(
            change(TranStatus::Void, JobCd::Auth),
            Err(Refusal("E01050004"))
        );
    }

    #[test]
    fn cancel_classification_by_jst_calendar() {
        let d = |s: &str| JstDateTime::parse_gmo(s).expect("date");
        let auth = d("20261130235959");
        assert_eq!(
            cancel_job(TranStatus::Sales, &auth, &d("20261130235959")),
            JobCd::Void
        );
        assert_eq!(
            cancel_job(TranStatus::Sales, &d("20261129000000"), &auth),
            JobCd::Return
        );
        assert_eq!(
            cancel_job(TranStatus::Sales, &auth, &d("20261201000000")),
            JobCd::Returnx
        );
        assert_eq!(
            cancel_job(TranStatus::Auth, &auth, &d("20261201000000")),
            JobCd::Return
        );
    }

    proptest! {
        /// Re-authorisation is reachable only from a cancelled transaction, and nothing ever
        /// returns to UNPROCESSED.
        #[test]
        fn walks_respect_the_rules(ops in proptest::collection::vec(0usize..8, 0..20)) {
            let mut s = TranStatus::Auth;
            for i in ops {
                let job = ALL_JOBS[i];
                if let Ok(next) = alter(s, job) {
                    if matches!(job, JobCd::Auth | JobCd::Capture | JobCd::Sauth) {
                        prop_assert!(matches!(s, TranStatus::Void | TranStatus::Return | TranStatus::Returnx));
                    }
                    prop_assert!(next.is_settled());
                    s = next;
                }
            }
        }
    }
}
