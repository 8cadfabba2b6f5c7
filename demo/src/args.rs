//! The demo's command line (`kessai-demo [options]`): ports and the state directory, so that two
//! demos, or a demo next to the test suite, can run on one machine. Pure: the caller passes the
//! arguments and a view of the environment, so the rules are unit-tested here.

use std::ffi::{OsStr, OsString};
// The demo is Linux-only (the stack uses prctl), so arguments are bytes.
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The demo's ports when nothing is given (README "Two commands"). Not a base: the edge's 8787 is
/// wrangler's usual port, kept from before `--port-base` existed.
pub const DEFAULT_STOREFRONT_PORT: u16 = 8080;
pub const DEFAULT_EDGE_PORT: u16 = 8787;
pub const DEFAULT_SANDBOX_PORT: u16 = 8790;
pub const DEFAULT_AMAZON_SANDBOX_PORT: u16 = 8791;

/// Chooses the state directory (wrangler's D1 data, its logs, the edge's env file).
pub const STATE_ENV: &str = "KESSAI_DEMO_STATE";
/// Sets all four ports from one base, as `--port-base` does.
pub const PORT_BASE_ENV: &str = "KESSAI_DEMO_PORT_BASE";

/// The highest base: the Amazon Pay sandbox gets base + 3.
const MAX_BASE: u16 = u16::MAX - 3;

pub const USAGE: &str = "\
usage: kessai-demo [options]

Runs the demo on 127.0.0.1 until Ctrl-C: the storefront, the edge (wrangler dev: workerd and
local D1), the GMO-PG sandbox and the Amazon Pay sandbox.

options:
  --port-base N            all four ports from one base N (1-65532):
                             storefront N, edge N+1, GMO-PG sandbox N+2, Amazon Pay sandbox N+3
                           (env KESSAI_DEMO_PORT_BASE)
  --port N                 storefront port (default 8080)
  --edge-port N            edge port (default 8787)
  --sandbox-port N         GMO-PG sandbox port (default 8790)
  --amazon-sandbox-port N  Amazon Pay sandbox port (default 8791)
  --state DIR              state directory: wrangler's D1 data and logs, the edge's env file
                           (default <repo>/.wrangler/demo; env KESSAI_DEMO_STATE)
  -h, --help               print this text and exit

A per-port flag overrides the base for its port (0 picks a free port). A flag wins over its
environment variable. `--name value` and `--name=value` both work. Two demos at once need
different ports and different state directories, e.g.
  kessai-demo --port-base 18080 --state /tmp/kessai-demo2
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(DemoArgs),
    /// `--help`: print [`USAGE`], exit 0.
    Help,
}

/// A demo run's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoArgs {
    pub storefront_port: u16,
    pub edge_port: u16,
    pub sandbox_port: u16,
    pub amazon_sandbox_port: u16,
    /// As given (possibly relative: the caller resolves it against its working directory).
    pub state_dir: PathBuf,
}

/// The state directory when neither `--state` nor [`STATE_ENV`] is given.
pub fn default_state_dir() -> PathBuf {
    crate::stack::repo_root().join(".wrangler/demo")
}

impl DemoArgs {
    /// Parses the arguments (without the program name); `env` looks up an environment variable.
    /// Precedence, per port: its own flag, then `--port-base`, then [`PORT_BASE_ENV`], then the
    /// default; for the state directory `--state`, then [`STATE_ENV`], then
    /// [`default_state_dir`]. An empty environment variable counts as unset. Errors are one line
    /// for the user.
    pub fn parse<I>(args: I, env: impl Fn(&str) -> Option<OsString>) -> Result<Command, String>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut base: Option<u16> = None;
        let mut storefront: Option<u16> = None;
        let mut edge: Option<u16> = None;
        let mut sandbox: Option<u16> = None;
        let mut amazon: Option<u16> = None;
        let mut state: Option<PathBuf> = None;

        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            // Flags are ASCII; a value may be any bytes (a state directory), so split on the
            // `=` of `--name=value` without requiring the whole argument to be UTF-8.
            let (name, inline) = split_flag(&arg);
            let name = name.ok_or_else(|| format!("unknown argument {}", shown(&arg)))?;
            if name == "-h" || name == "--help" {
                return Ok(Command::Help);
            }
            let slot = match name.as_str() {
                "--port-base" => Slot::Base,
                "--port" => Slot::Port(&mut storefront),
                "--edge-port" => Slot::Port(&mut edge),
                "--sandbox-port" => Slot::Port(&mut sandbox),
                "--amazon-sandbox-port" => Slot::Port(&mut amazon),
                "--state" => Slot::State,
                _ => return Err(format!("unknown option {name}")),
            };
            let value = match inline {
                Some(v) => v,
                None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
            };
            // A repeated flag: the last one wins, as with most command lines.
            match slot {
                Slot::Base => base = Some(parse_base(&name, &value)?),
                Slot::Port(p) => *p = Some(parse_port(&name, &value)?),
                Slot::State => {
                    if value.is_empty() {
                        return Err(format!("{name} needs a directory"));
                    }
                    state = Some(PathBuf::from(value));
                }
            }
        }

        // The flag wins; the environment is not even read then, so a stale bad value in it does
        // not stop a run that overrides it.
        let base = match base {
            Some(b) => Some(b),
            None => match env(PORT_BASE_ENV).filter(|v| !v.is_empty()) {
                Some(v) => Some(parse_base(PORT_BASE_ENV, &v)?),
                None => None,
            },
        };
        let from_base = |offset: u16, default: u16| base.map_or(default, |b| b + offset);
        let state_dir = match state {
            Some(s) => s,
            None => env(STATE_ENV)
                .filter(|v| !v.is_empty())
                .map_or_else(default_state_dir, PathBuf::from),
        };
        let args = DemoArgs {
            storefront_port: storefront.unwrap_or(from_base(0, DEFAULT_STOREFRONT_PORT)),
            edge_port: edge.unwrap_or(from_base(1, DEFAULT_EDGE_PORT)),
            sandbox_port: sandbox.unwrap_or(from_base(2, DEFAULT_SANDBOX_PORT)),
            amazon_sandbox_port: amazon.unwrap_or(from_base(3, DEFAULT_AMAZON_SANDBOX_PORT)),
            state_dir,
        };
        args.check_distinct()?;
        Ok(Command::Run(args))
    }

    /// Two servers cannot listen on one port; say so now rather than fail half-started.
    fn check_distinct(&self) -> Result<(), String> {
        let ports = [
            ("storefront", self.storefront_port),
            ("edge", self.edge_port),
            ("GMO-PG sandbox", self.sandbox_port),
            ("Amazon Pay sandbox", self.amazon_sandbox_port),
        ];
        for (i, (a, pa)) in ports.iter().enumerate() {
            for (b, pb) in &ports[i + 1..] {
                // 0 is "any free port": several of them never clash.
                if *pa != 0 && pa == pb {
                    return Err(format!("the {a} and the {b} would both use port {pa}"));
                }
            }
        }
        Ok(())
    }
}

enum Slot<'a> {
    Base,
    Port(&'a mut Option<u16>),
    State,
}

/// `--name=value` → (`--name`, `value`); `--name` → (`--name`, none). `None` for the name when
/// the argument is not an option (a positional argument, or not UTF-8 before any `=`).
fn split_flag(arg: &OsStr) -> (Option<String>, Option<OsString>) {
    let bytes = arg.as_bytes();
    if !bytes.starts_with(b"-") {
        return (None, None);
    }
    match bytes.iter().position(|&b| b == b'=') {
        Some(at) => {
            let (name, value) = (&bytes[..at], &bytes[at + 1..]);
            let name = std::str::from_utf8(name).ok().map(str::to_string);
            (name, Some(OsStr::from_bytes(value).to_os_string()))
        }
        None => (arg.to_str().map(str::to_string), None),
    }
}

/// For error messages: the argument as text, with any non-UTF-8 bytes replaced.
fn shown(v: &OsStr) -> String {
    format!("{:?}", v.to_string_lossy())
}

// u64, so that a large number is reported as out of range rather than as not a number.
fn parse_number(what: &str, value: &OsStr) -> Result<u64, String> {
    value
        .to_str()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("{what}: {} is not a number", shown(value)))
}

fn parse_port(what: &str, value: &OsStr) -> Result<u16, String> {
    let n = parse_number(what, value)?;
    u16::try_from(n).map_err(|_| format!("{what}: {n} is not a port (0-65535)"))
}

fn parse_base(what: &str, value: &OsStr) -> Result<u16, String> {
    let n = parse_number(what, value)?;
    match u16::try_from(n) {
        Ok(b) if (1..=MAX_BASE).contains(&b) => Ok(b),
        _ => Err(format!(
            "{what}: {n} is out of range (1-{MAX_BASE}: the Amazon Pay sandbox gets base + 3)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Command, String> {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        DemoArgs::parse(args.iter().copied(), |k| env.get(k).cloned())
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> DemoArgs {
        match parse_with(args, env) {
            Ok(Command::Run(a)) => a,
            other => panic!("expected a run for {args:?}, got {other:?}"),
        }
    }

    fn ports(a: &DemoArgs) -> [u16; 4] {
        [
            a.storefront_port,
            a.edge_port,
            a.sandbox_port,
            a.amazon_sandbox_port,
        ]
    }

    #[test]
    fn nothing_given_is_today_s_demo() {
        let a = run(&[], &[]);
        assert_eq!(ports(&a), [8080, 8787, 8790, 8791]);
        assert_eq!(
            a.state_dir,
            crate::stack::repo_root().join(".wrangler/demo")
        );
        assert!(a.state_dir.ends_with(".wrangler/demo"));
    }

    #[test]
    fn a_base_sets_all_four_ports() {
        assert_eq!(
            ports(&run(&["--port-base", "18080"], &[])),
            [18080, 18081, 18082, 18083]
        );
        assert_eq!(
            ports(&run(&["--port-base=9000"], &[])),
            [9000, 9001, 9002, 9003]
        );
        assert_eq!(
            ports(&run(&["--port-base", "65532"], &[])),
            [65532, 65533, 65534, 65535]
        );
        assert_eq!(
            ports(&run(&[], &[(PORT_BASE_ENV, "20000")])),
            [20000, 20001, 20002, 20003]
        );
    }

    #[test]
    fn a_port_flag_overrides_the_base_for_its_port_only() {
        let a = run(&["--edge-port", "30000", "--port-base", "18080"], &[]);
        assert_eq!(ports(&a), [18080, 30000, 18082, 18083]);
        let a = run(&["--port=8000", "--amazon-sandbox-port", "0"], &[]);
        assert_eq!(ports(&a), [8000, 8787, 8790, 0]);
        let a = run(&["--sandbox-port", "1"], &[(PORT_BASE_ENV, "40000")]);
        assert_eq!(ports(&a), [40000, 40001, 1, 40003]);
    }

    #[test]
    fn flags_win_over_the_environment() {
        let env = [(PORT_BASE_ENV, "20000"), (STATE_ENV, "/tmp/from-env")];
        let a = run(&[], &env);
        assert_eq!(a.state_dir, PathBuf::from("/tmp/from-env"));
        let a = run(&["--port-base", "30000", "--state", "/tmp/flag"], &env);
        assert_eq!(ports(&a), [30000, 30001, 30002, 30003]);
        assert_eq!(a.state_dir, PathBuf::from("/tmp/flag"));
        // The flag wins without the environment being read: its bad value does not matter.
        let a = run(&["--port-base", "30000"], &[(PORT_BASE_ENV, "nope")]);
        assert_eq!(a.edge_port, 30001);
        // Empty variables are unset.
        let a = run(&[], &[(PORT_BASE_ENV, ""), (STATE_ENV, "")]);
        assert_eq!(ports(&a), [8080, 8787, 8790, 8791]);
        assert_eq!(a.state_dir, default_state_dir());
        // The last of a repeated flag wins; relative directories are left to the caller.
        let a = run(&["--state", "a", "--state=b/c"], &[]);
        assert_eq!(a.state_dir, PathBuf::from("b/c"));
    }

    #[test]
    fn help_is_asked_for_with_either_spelling() {
        assert_eq!(parse_with(&["--help"], &[]), Ok(Command::Help));
        assert_eq!(parse_with(&["--port", "1", "-h"], &[]), Ok(Command::Help));
        assert!(
            USAGE.contains("storefront N, edge N+1, GMO-PG sandbox N+2, Amazon Pay sandbox N+3")
        );
    }

    /// Arguments, environment, what the error must say.
    type Case = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
        &'static str,
    );

    #[test]
    fn bad_values_are_one_line_errors() {
        let cases: [Case; 14] = [
            (&["--port", "abc"], &[], "--port: \"abc\" is not a number"),
            (&["--port", "-1"], &[], "--port: \"-1\" is not a number"),
            (
                &["--edge-port", "70000"],
                &[],
                "--edge-port: 70000 is not a port",
            ),
            (
                &["--port-base", "65533"],
                &[],
                "--port-base: 65533 is out of range",
            ),
            (&["--port-base", "0"], &[], "--port-base: 0 is out of range"),
            (
                &["--port-base", "99999999999"],
                &[],
                "99999999999 is out of range",
            ),
            (
                &[],
                &[(PORT_BASE_ENV, "x")],
                "KESSAI_DEMO_PORT_BASE: \"x\" is not a number",
            ),
            (
                &[],
                &[(PORT_BASE_ENV, "65535")],
                "KESSAI_DEMO_PORT_BASE: 65535 is out of range",
            ),
            (&["--sandbox-port"], &[], "--sandbox-port needs a value"),
            (&["--state="], &[], "--state needs a directory"),
            (&["--verbose"], &[], "unknown option --verbose"),
            (&["extra"], &[], "unknown argument \"extra\""),
            (
                &["--port-base", "18080", "--port", "18081"],
                &[],
                "the storefront and the edge would both use port 18081",
            ),
            (
                &["--port", "8790"],
                &[],
                "the storefront and the GMO-PG sandbox would both use port 8790",
            ),
        ];
        for (args, env, want) in cases {
            match parse_with(args, env) {
                Err(e) => {
                    assert!(e.contains(want), "{args:?} {env:?}: {e:?} lacks {want:?}");
                    assert!(!e.contains('\n'), "{e:?} is one line");
                }
                Ok(c) => panic!("{args:?} {env:?} was accepted: {c:?}"),
            }
        }
    }

    #[test]
    fn a_state_dir_need_not_be_utf8() {
        let dir = OsStr::from_bytes(b"/tmp/\xff");
        let mut eq = OsString::from("--state=");
        eq.push(dir);
        for args in [
            vec![OsString::from("--state"), dir.to_os_string()],
            vec![eq],
        ] {
            match DemoArgs::parse(args, |_| None) {
                Ok(Command::Run(a)) => assert_eq!(a.state_dir.as_os_str(), dir),
                other => panic!("{other:?}"),
            }
        }
        // Not UTF-8 where a number is expected: an error, not a panic.
        let bad = vec![OsString::from("--port"), dir.to_os_string()];
        assert!(DemoArgs::parse(bad, |_| None).is_err());
    }
}
