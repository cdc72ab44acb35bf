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
//! only unescapes when needed. Layout, in order: flag, cause id, action id, status, risk
//! score, analysis, scorer outcome and its fields (`skipped`: reason; `assessed`: scorer;
//! `failed`: scorer, error), rules/scorer/total ns, then a count and the items of `rules`,
//! of `matched` (rule, pack version, effect as JSON, reason) and of `packs` (name,
//! version, hash).

use std::fmt::Write;

use sentinel_core::{Decision, ScorerUse};

const SEP: char = '\x1f';
const ESC: char = '\x1b';

/// Encodes `d` (and the id of a user error behind it) as one string.
pub fn encode(d: &Decision, cause_id: Option<u32>) -> String {
    let mut e = Encoder {
        out: String::with_capacity(512),
        escaped: false,
    };
    e.out.push(SEP); // the flag goes before this separator, once known
    e.field(&cause_id.map(|c| c.to_string()).unwrap_or_default());
    e.display(d.action_id);
    e.field(d.status.as_str());
    e.display(d.risk_score);
    e.field(&d.analysis);
    match &d.scorer {
        ScorerUse::Skipped { reason } => {
            e.field("skipped");
            e.field(reason);
        }
        ScorerUse::Assessed { scorer } => {
            e.field("assessed");
            e.field(scorer);
        }
        ScorerUse::Failed { scorer, error } => {
            e.field("failed");
            e.field(scorer);
            e.field(error);
        }
        _ => e.field("unknown"),
    }
    e.display(d.timings.rules_ns);
    e.display(d.timings.scorer_ns);
    e.display(d.timings.total_ns);
    e.display(d.rules.len());
    for rule in &d.rules {
        e.field(rule);
    }
    e.display(d.matched.len());
    for m in &d.matched {
        e.field(&m.rule);
        e.field(&m.pack_version);
        e.field(&serde_json::to_string(&m.effect).unwrap_or_else(|_| "null".to_owned()));
        e.field(&m.reason);
    }
    e.display(d.packs.len());
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
    fn field(&mut self, text: &str) {
        if text.contains([SEP, ESC]) {
            self.escaped = true;
            for c in text.chars() {
                match c {
                    SEP => self.out.push_str("\x1bf"),
                    ESC => self.out.push_str("\x1bb"),
                    c => self.out.push(c),
                }
            }
        } else {
            self.out.push_str(text);
        }
        self.out.push(SEP);
    }

    fn display(&mut self, value: impl std::fmt::Display) {
        let _ = write!(self.out, "{value}");
        self.out.push(SEP);
    }
}
