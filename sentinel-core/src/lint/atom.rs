//! The literals of the lint's reasoning: comparisons (atoms) on a JSON path, the scalar
//! values and numeric ranges they compare with, and negated or plain literals.

use serde_json::Value;

/// A comparison as the lint reasons about it; each requires the path to hold a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Atom {
    /// The path holds a value.
    Exists(String),
    /// The path holds a number (or a string holding one) in the range.
    Num(String, Range),
    /// The path equals a text, boolean or structured value.
    Eq(String, Scalar),
    /// The path equals one of the values.
    In(String, Vec<Scalar>),
    /// Any other test (`contains`, `starts_with`, `ends_with`, `matches`), compared by its
    /// written form only.
    Opaque(String, String),
}

impl Atom {
    pub(super) fn path(&self) -> &str {
        match self {
            Atom::Exists(p) | Atom::Num(p, _) | Atom::Eq(p, _) | Atom::In(p, _) => p,
            Atom::Opaque(p, _) => p,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Atom::Exists(p) => format!("`{p}` is present"),
            Atom::Num(p, r) => format!("`{p}` {}", r.describe()),
            Atom::Eq(p, v) => format!("`{p}` = {}", v.describe()),
            Atom::In(p, vs) => format!(
                "`{p}` in [{}]",
                vs.iter()
                    .map(Scalar::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Atom::Opaque(p, test) => format!("`{p}` {test}"),
        }
    }
}

/// A value compared for equality, prepared as the evaluator prepares it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// Text, lowercased when the comparison ignores case.
    Text(String, bool),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// An array or object.
    Other(Value),
}

impl Scalar {
    pub(super) fn new(value: &Value, ignore_case: bool) -> Self {
        match value {
            Value::String(s) if ignore_case => Scalar::Text(s.to_lowercase(), true),
            Value::String(s) => Scalar::Text(s.clone(), false),
            Value::Number(n) => n.as_f64().map_or(Scalar::Other(value.clone()), Scalar::Num),
            Value::Bool(b) => Scalar::Bool(*b),
            other => Scalar::Other(other.clone()),
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Scalar::Text(t, true) => format!("{:?} (any case)", t),
            Scalar::Text(t, false) => format!("{t:?}"),
            Scalar::Num(n) => number(*n),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Other(v) => v.to_string(),
        }
    }

    /// The number a value equal to this one holds, when it must hold one: `None` when no
    /// value equal to this one is a number.
    pub(super) fn as_number(&self) -> Option<f64> {
        match self {
            Scalar::Num(n) => Some(*n),
            Scalar::Text(t, _) => t.trim().parse().ok().filter(|f: &f64| f.is_finite()),
            _ => None,
        }
    }

    /// True when no value can equal both.
    pub(super) fn disjoint(&self, other: &Scalar) -> bool {
        use Scalar::*;
        match (self, other) {
            (Text(a, ia), Text(b, ib)) => {
                if ia == ib {
                    a != b
                } else {
                    a.to_lowercase() != b.to_lowercase()
                }
            }
            (Num(a), Num(b)) => a != b,
            (Bool(a), Bool(b)) => a != b,
            (Text(t, _), Num(n)) | (Num(n), Text(t, _)) => t.trim().parse::<f64>().ok() != Some(*n),
            (Text(t, _), Bool(b)) | (Bool(b), Text(t, _)) => !t
                .trim()
                .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            (Num(_), Bool(_)) | (Bool(_), Num(_)) => true,
            (Other(a), Other(b)) => a != b,
            (Other(_), _) | (_, Other(_)) => true,
        }
    }
}

/// A numeric range; `None` bounds are open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    /// The lower bound and whether it is inclusive.
    pub(super) lo: Option<(f64, bool)>,
    /// The upper bound and whether it is inclusive.
    pub(super) hi: Option<(f64, bool)>,
}

impl Range {
    /// Every number.
    pub(super) const ALL: Range = Range { lo: None, hi: None };

    pub(super) fn point(n: f64) -> Self {
        Range {
            lo: Some((n, true)),
            hi: Some((n, true)),
        }
    }

    pub(super) fn intersect(self, other: Range) -> Range {
        let lo = match (self.lo, other.lo) {
            (Some(a), Some(b)) => Some(if a.0 > b.0 || (a.0 == b.0 && !a.1) {
                a
            } else {
                b
            }),
            (a, b) => a.or(b),
        };
        let hi = match (self.hi, other.hi) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 || (a.0 == b.0 && !a.1) {
                a
            } else {
                b
            }),
            (a, b) => a.or(b),
        };
        Range { lo, hi }
    }

    pub(super) fn is_empty(self) -> bool {
        match (self.lo, self.hi) {
            (Some((lo, li)), Some((hi, hi_in))) => lo > hi || (lo == hi && !(li && hi_in)),
            _ => false,
        }
    }

    pub(super) fn contains(self, n: f64) -> bool {
        self.lo.is_none_or(|(lo, inc)| n > lo || (inc && n == lo))
            && self.hi.is_none_or(|(hi, inc)| n < hi || (inc && n == hi))
    }

    /// True when every number in `self` is in `other`.
    pub(super) fn within(self, other: Range) -> bool {
        self.is_empty() || self.intersect(other) == self
    }

    pub(super) fn describe(self) -> String {
        if let (Some((lo, true)), Some((hi, true))) = (self.lo, self.hi)
            && lo == hi
        {
            return format!("= {}", number(lo));
        }
        let lo = self
            .lo
            .map(|(n, inc)| format!("{} {}", if inc { ">=" } else { ">" }, number(n)));
        let hi = self
            .hi
            .map(|(n, inc)| format!("{} {}", if inc { "<=" } else { "<" }, number(n)));
        match (lo, hi) {
            (Some(l), Some(h)) => format!("{l} and {h}"),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => "is a number".to_owned(),
        }
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// An atom or its negation, with the JSON pointer of the comparison it came from.
#[derive(Debug, Clone)]
pub(crate) struct Lit {
    pub(crate) positive: bool,
    pub(crate) atom: Atom,
    pub(crate) pointer: String,
}

impl Lit {
    pub(super) fn describe(&self) -> String {
        match (&self.atom, self.positive) {
            (Atom::Exists(p), false) => format!("`{p}` is absent"),
            (atom, true) => atom.describe(),
            (atom, false) => format!("not ({})", atom.describe()),
        }
    }
}
