//! A compact text encoding of decisions for the hot path (`evaluate`, `evaluateSync`).
//!
//! Building the decision as a JS object field by field through Node-API costs about 4 µs
//! (each property is a call that interns its key); one string that the TypeScript layer
//! splits and turns into an object literal costs well under 1 µs. The encoding is private
//! to this package: `ts/codec.ts` decodes it, and the public shape is the plain
//! [`Decision`](crate::decision::Decision) object either way.
//!
//! Fields are separated by `\x1f`. A field that contains `\x1f` or `\x1b` has them escaped
//! as `\x1bf` / `\x1bb`, and the first field is then `E` (else empty) so that the decoder
//! only unescapes when needed. Layout, in order: flag, cause id, action id, risk score,
//! analysis, rules/scorer/total ns, the count of `matched` and each one's reason; then the
//! *tail*, mostly the same from one action to the next (the decoder keeps the last
//! few it parsed): status, scorer outcome and its fields (`skipped`: reason; `assessed`:
//! scorer; `failed`: scorer, error), `rules` as a count and items (or `=` when it is
//! exactly the `rule` of each `matched` item, as the core builds it), each `matched` item's
//! rule, pack version and effect, and a count and the items of `packs` (name, version,
//! hash). A rule effect is sent as its name (`deny`, `allow`, `escalate`) or as its name
//! and number (`risk_floor:40`); the decoder rebuilds the JSON form (`{"risk_floor":40}`).

use sentinel_core::{Decision, Effect, ScorerUse};

const SEP: char = '\x1f';

/// Encodes `d` (and the id of a user error behind it) as one string.
pub fn encode(d: &Decision, cause_id: Option<u32>) -> String {
    let mut e = Encoder {
        out: String::with_capacity(256 + d.analysis.len() * 2),
        escaped: false,
    };
    e.out.push(SEP); // the flag goes before this separator, once known
    match cause_id {
        Some(c) => e.number(u64::from(c)),
        None => e.out.push(SEP),
    }
    e.action_id(d);
    e.number(u64::from(d.risk_score));
    e.field(&d.analysis);
    e.number(d.timings.rules_ns);
    e.number(d.timings.scorer_ns);
    e.number(d.timings.total_ns);
    e.number(d.matched.len() as u64);
    for m in &d.matched {
        e.field(&m.reason);
    }
    // The tail: what actions decided by the same rules share.
    e.raw(d.status.as_str());
    match &d.scorer {
        ScorerUse::Skipped { reason } => {
            e.raw("skipped");
            e.field(reason);
        }
        ScorerUse::Assessed { scorer } => {
            e.raw("assessed");
            e.field(scorer);
        }
        ScorerUse::Failed { scorer, error } => {
            e.raw("failed");
            e.field(scorer);
            e.field(error);
        }
        _ => e.raw("unknown"),
    }
    let same_rules = d.rules.len() == d.matched.len()
        && d.rules.iter().zip(&d.matched).all(|(r, m)| **r == *m.rule);
    if same_rules {
        e.raw("=");
    } else {
        e.number(d.rules.len() as u64);
        for rule in &d.rules {
            e.field(rule);
        }
    }
    for m in &d.matched {
        e.field(&m.rule);
        e.field(&m.pack_version);
        e.effect(m.effect);
    }
    e.number(d.packs.len() as u64);
    for p in &d.packs {
        e.field(&p.name);
        e.field(&p.version);
        e.field(&p.hash);
    }
    e.out.pop(); // the last separator
    if e.escaped {
        e.out.insert(0, 'E');
    }
    e.out
}

struct Encoder {
    out: String,
    escaped: bool,
}

impl Encoder {
    /// A field of any text, escaped when needed.
    fn field(&mut self, text: &str) {
        if text.bytes().any(|b| b == 0x1f || b == 0x1b) {
            self.escaped = true;
            for c in text.chars() {
                match c {
                    '\x1f' => self.out.push_str("\x1bf"),
                    '\x1b' => self.out.push_str("\x1bb"),
                    c => self.out.push(c),
                }
            }
        } else {
            self.out.push_str(text);
        }
        self.out.push(SEP);
    }

    /// A field known to need no escaping.
    fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push(SEP);
    }

    /// A decimal number, without the formatting machinery.
    fn number(&mut self, mut n: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &b in &buf[i..] {
            self.out.push(char::from(b));
        }
        self.out.push(SEP);
    }

    fn action_id(&mut self, d: &Decision) {
        use std::fmt::Write;
        let _ = write!(self.out, "{}", d.action_id);
        self.out.push(SEP);
    }

    fn effect(&mut self, effect: Effect) {
        let (name, value) = match effect {
            Effect::Deny => ("deny", None),
            Effect::Allow => ("allow", None),
            Effect::Escalate => ("escalate", None),
            Effect::RiskFloor(n) => ("risk_floor", Some(n)),
            Effect::RiskCeiling(n) => ("risk_ceiling", Some(n)),
            Effect::SetRisk(n) => ("set_risk", Some(n)),
        };
        self.out.push_str(name);
        if let Some(n) = value {
            self.out.push(':');
            self.number(u64::from(n));
        } else {
            self.out.push(SEP);
        }
    }
}
