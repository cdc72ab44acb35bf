//! Conditions as disjunctions of literal conjunctions (disjunctive normal form), for the
//! lint's reasoning: which conditions can never hold, and which imply which.
//!
//! The reasoning is sound, not complete: "can never hold" and "implies" are only claimed
//! when they are certain under the evaluator's semantics (absent and `null` fields fail
//! every comparison; quoted numbers and booleans compare by value).

use super::atom::{Atom, Lit, Range, Scalar};
use crate::pack::format::{Comparison, ConditionSpec};

/// Past this many alternatives a condition is not analysed (its DNF would be too large).
const MAX_CUBES: usize = 256;

/// A conjunction of literals.
pub(crate) type Cube = Vec<Lit>;

/// A condition as alternatives (cubes), any of which makes it hold: `None` when too large
/// to analyse. No `when` is one empty cube (always).
pub(crate) fn dnf(spec: Option<&ConditionSpec>, pointer: &str) -> Option<Vec<Cube>> {
    match spec {
        None => Some(vec![Vec::new()]),
        Some(spec) => to_dnf(spec, pointer, true),
    }
}

fn to_dnf(spec: &ConditionSpec, pointer: &str, positive: bool) -> Option<Vec<Cube>> {
    let list = |items: &[ConditionSpec], key: &str, positive: bool| {
        items
            .iter()
            .enumerate()
            .map(|(i, c)| to_dnf(c, &format!("{pointer}/{key}/{i}"), positive))
            .collect::<Option<Vec<_>>>()
    };
    match spec {
        ConditionSpec::All(items) if positive => product(list(items, "all", true)?),
        ConditionSpec::All(items) => union(list(items, "all", false)?),
        ConditionSpec::Any(items) if positive => union(list(items, "any", true)?),
        ConditionSpec::Any(items) => product(list(items, "any", false)?),
        ConditionSpec::Not(inner) => to_dnf(inner, &format!("{pointer}/not"), !positive),
        leaf => Some(leaf_dnf(leaf, pointer, positive)),
    }
}

fn product(parts: Vec<Vec<Cube>>) -> Option<Vec<Cube>> {
    let mut out: Vec<Cube> = vec![Vec::new()];
    for part in parts {
        if out.len().saturating_mul(part.len()) > MAX_CUBES {
            return None;
        }
        out = out
            .iter()
            .flat_map(|a| {
                part.iter().map(move |b| {
                    let mut c = a.clone();
                    c.extend(b.iter().cloned());
                    c
                })
            })
            .collect();
    }
    Some(out)
}

fn union(parts: Vec<Vec<Cube>>) -> Option<Vec<Cube>> {
    let out: Vec<Cube> = parts.into_iter().flatten().collect();
    (out.len() <= MAX_CUBES).then_some(out)
}

/// A comparison as atoms: `ne` is "present and not equal", `not_in` "present and in none".
fn leaf_dnf(spec: &ConditionSpec, pointer: &str, positive: bool) -> Vec<Cube> {
    let lit = |positive: bool, atom: Atom, op: &str| Lit {
        positive,
        atom,
        pointer: format!("{pointer}/{op}"),
    };
    let (op, c): (&str, &Comparison) = match spec {
        ConditionSpec::Exists(e) => {
            return vec![vec![lit(positive, Atom::Exists(e.path.clone()), "exists")]];
        }
        // A budget or rate depends on past actions: an atom of its own, which nothing else
        // implies or contradicts. Named by its pointer, as each is a budget of its own
        // (even when two are written alike); not a path, so no comparison reads it.
        ConditionSpec::Budget(_) | ConditionSpec::Rate(_) => {
            let op = if matches!(spec, ConditionSpec::Budget(_)) {
                "budget"
            } else {
                "rate"
            };
            let atom = Atom::Opaque(format!("{op} at {pointer}"), "holds".to_owned());
            return vec![vec![lit(positive, atom, op)]];
        }
        ConditionSpec::Eq(c) => ("eq", c),
        ConditionSpec::Ne(c) => ("ne", c),
        ConditionSpec::Lt(c) => ("lt", c),
        ConditionSpec::Lte(c) => ("lte", c),
        ConditionSpec::Gt(c) => ("gt", c),
        ConditionSpec::Gte(c) => ("gte", c),
        ConditionSpec::In(c) => ("in", c),
        ConditionSpec::NotIn(c) => ("not_in", c),
        ConditionSpec::Contains(c) => ("contains", c),
        ConditionSpec::StartsWith(c) => ("starts_with", c),
        ConditionSpec::EndsWith(c) => ("ends_with", c),
        ConditionSpec::Matches(c) => ("matches", c),
        ConditionSpec::All(_) | ConditionSpec::Any(_) | ConditionSpec::Not(_) => {
            return vec![vec![]];
        }
    };
    let path = c.path.clone();
    let bound = |inc: bool, low: bool| {
        let n = c.value.as_f64().unwrap_or(f64::NAN);
        let b = Some((n, inc));
        Atom::Num(
            path.clone(),
            if low {
                Range { lo: b, hi: None }
            } else {
                Range { lo: None, hi: b }
            },
        )
    };
    let equal = || match Scalar::new(&c.value, c.ignore_case) {
        Scalar::Num(n) => Atom::Num(path.clone(), Range::point(n)),
        s => Atom::Eq(path.clone(), s),
    };
    let set = || {
        let items = c.value.as_array().map(Vec::as_slice).unwrap_or_default();
        Atom::In(
            path.clone(),
            items
                .iter()
                .map(|v| Scalar::new(v, c.ignore_case))
                .collect(),
        )
    };
    // A negated comparison: present and failing, or absent.
    let present_and_not = |atom: Atom| {
        if positive {
            vec![vec![
                lit(true, Atom::Exists(path.clone()), op),
                lit(false, atom, op),
            ]]
        } else {
            vec![
                vec![lit(false, Atom::Exists(path.clone()), op)],
                vec![lit(true, atom, op)],
            ]
        }
    };
    let atom = match op {
        "eq" => equal(),
        "lt" => bound(false, false),
        "lte" => bound(true, false),
        "gt" => bound(false, true),
        "gte" => bound(true, true),
        "in" => set(),
        "ne" => return present_and_not(equal()),
        "not_in" => return present_and_not(set()),
        _ => Atom::Opaque(
            path.clone(),
            format!(
                "{op} {}{}",
                c.value,
                if c.ignore_case { " (any case)" } else { "" }
            ),
        ),
    };
    vec![vec![lit(positive, atom, op)]]
}

/// True when every value satisfying `x` satisfies `y` (both about the same path).
fn atom_implies(x: &Atom, y: &Atom) -> bool {
    if x == y || matches!(y, Atom::Exists(_)) {
        return true;
    }
    match (x, y) {
        (Atom::Num(_, a), Atom::Num(_, b)) => a.within(*b),
        (Atom::Num(_, r), Atom::In(_, set)) => match (r.lo, r.hi) {
            (Some((lo, true)), Some((hi, true))) if lo == hi => set.contains(&Scalar::Num(lo)),
            _ => false,
        },
        (Atom::Eq(_, v), Atom::In(_, set)) => set.contains(v),
        (Atom::In(_, a), Atom::In(_, b)) => a.iter().all(|v| b.contains(v)),
        (Atom::In(_, set), Atom::Num(_, r)) => set
            .iter()
            .all(|v| matches!(v, Scalar::Num(n) if r.contains(*n))),
        (Atom::In(_, set), Atom::Eq(_, v)) => !set.is_empty() && set.iter().all(|s| s == v),
        _ => false,
    }
}

/// Why the cube can never hold, or `None` when it may. The pointer is that of the literal
/// that completes the contradiction.
pub(crate) fn contradiction(cube: &[Lit]) -> Option<(String, String)> {
    for (i, lit) in cube.iter().enumerate() {
        let path = lit.atom.path();
        // An `in` with an empty list never holds.
        if lit.positive
            && let Atom::In(_, set) = &lit.atom
            && set.is_empty()
        {
            return Some((
                format!("`{path}` must be in an empty list"),
                lit.pointer.clone(),
            ));
        }
        let earlier = || cube[..i].iter().filter(|l| l.atom.path() == path);
        if lit.positive && matches!(lit.atom, Atom::Num(..)) {
            let range = earlier()
                .chain(std::iter::once(lit))
                .filter(|l| l.positive)
                .filter_map(|l| match &l.atom {
                    Atom::Num(_, r) => Some(*r),
                    _ => None,
                })
                .fold(Range::ALL, Range::intersect);
            if range.is_empty() {
                let before = earlier()
                    .filter(|l| l.positive && matches!(l.atom, Atom::Num(..)))
                    .map(Lit::describe)
                    .collect::<Vec<_>>()
                    .join(" and ");
                return Some((
                    format!("{before} contradicts {}", lit.describe()),
                    lit.pointer.clone(),
                ));
            }
        }
        for other in earlier() {
            if let Some(why) = conflict(other, lit) {
                return Some((why, lit.pointer.clone()));
            }
        }
    }
    // A negated range that the positive ranges fall within.
    for neg in cube.iter().filter(|l| !l.positive) {
        let Atom::Num(path, excluded) = &neg.atom else {
            continue;
        };
        let ranges: Vec<Range> = cube
            .iter()
            .filter(|l| l.positive)
            .filter_map(|l| match &l.atom {
                Atom::Num(p, r) if p == path => Some(*r),
                _ => None,
            })
            .collect();
        if !ranges.is_empty()
            && ranges
                .iter()
                .copied()
                .fold(Range::ALL, Range::intersect)
                .within(*excluded)
        {
            return Some((
                format!(
                    "`{path}` {} contradicts {}",
                    ranges
                        .iter()
                        .copied()
                        .fold(Range::ALL, Range::intersect)
                        .describe(),
                    neg.describe()
                ),
                neg.pointer.clone(),
            ));
        }
    }
    None
}

/// Why two literals about the same path cannot both hold.
fn conflict(a: &Lit, b: &Lit) -> Option<String> {
    let why = || Some(format!("{} contradicts {}", a.describe(), b.describe()));
    match (a.positive, b.positive) {
        (true, true) => disjoint(&a.atom, &b.atom).then(why).flatten(),
        (true, false) => atom_implies(&a.atom, &b.atom).then(why).flatten(),
        (false, true) => atom_implies(&b.atom, &a.atom).then(why).flatten(),
        (false, false) => None,
    }
}

/// True when no value satisfies both atoms.
fn disjoint(x: &Atom, y: &Atom) -> bool {
    match (x, y) {
        (Atom::Eq(_, a), Atom::Eq(_, b)) => a.disjoint(b),
        (Atom::Eq(_, v), Atom::In(_, set)) | (Atom::In(_, set), Atom::Eq(_, v)) => {
            set.iter().all(|s| s.disjoint(v))
        }
        (Atom::In(_, a), Atom::In(_, b)) => a.iter().all(|x| b.iter().all(|y| x.disjoint(y))),
        (Atom::Num(_, r), Atom::Eq(_, v)) | (Atom::Eq(_, v), Atom::Num(_, r)) => {
            v.as_number().is_none_or(|n| !r.contains(n))
        }
        (Atom::Num(_, r), Atom::In(_, set)) | (Atom::In(_, set), Atom::Num(_, r)) => set
            .iter()
            .all(|v| v.as_number().is_none_or(|n| !r.contains(n))),
        _ => false,
    }
}

/// True when the cube certainly implies the literal: the cube and the literal's negation
/// cannot both hold.
pub(crate) fn implies(cube: &[Lit], lit: &Lit) -> bool {
    let mut with = cube.to_vec();
    with.push(Lit {
        positive: !lit.positive,
        ..lit.clone()
    });
    contradiction(&with).is_some()
}

/// True when every alternative of `narrow` that can hold implies some alternative of
/// `broad`: whenever `narrow` holds, `broad` does.
pub(crate) fn subsumed(narrow: &[Cube], broad: &[Cube]) -> bool {
    narrow
        .iter()
        .filter(|c| contradiction(c).is_none())
        .all(|c| broad.iter().any(|b| b.iter().all(|l| implies(c, l))))
}

/// True when some alternatives of `a` and `b` may hold together.
pub(crate) fn may_overlap(a: &[Cube], b: &[Cube]) -> bool {
    a.iter().any(|x| {
        b.iter().any(|y| {
            let mut both = x.clone();
            both.extend(y.iter().cloned());
            contradiction(&both).is_none()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use serde_json::json;

    fn cubes(spec: Value) -> Vec<Cube> {
        let spec: ConditionSpec = serde_json::from_value(spec).unwrap();
        dnf(Some(&spec), "/when").unwrap()
    }

    fn never(spec: Value) -> Option<String> {
        let cs = cubes(spec);
        cs.iter()
            .map(|c| contradiction(c))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.first().map(|(w, _)| w.clone()).unwrap_or_default())
    }

    #[test]
    fn contradictions_are_found_and_consistent_conditions_are_left_alone() {
        let why = never(
            json!({"all": [{"gt": {"path": "payload.amount", "value": 10}},
                                        {"lt": {"path": "payload.amount", "value": 5}}]}),
        )
        .unwrap();
        assert_eq!(
            why,
            "`payload.amount` > 10 contradicts `payload.amount` < 5"
        );
        assert!(
            never(
                json!({"all": [{"eq": {"path": "payload.v", "value": "AWS"}},
                                      {"eq": {"path": "payload.v", "value": "GCP"}}]})
            )
            .is_some()
        );
        assert!(
            never(json!({"all": [{"exists": {"path": "payload.v"}},
                                      {"not": {"exists": {"path": "payload.v"}}}]}))
            .is_some()
        );
        assert!(
            never(json!({"all": [{"eq": {"path": "payload.v", "value": "x"}},
                                      {"not_in": {"path": "payload.v", "value": ["x", "y"]}}]}))
            .is_some()
        );
        assert!(
            never(json!({"all": [{"gte": {"path": "payload.n", "value": 50}},
                                      {"not": {"gt": {"path": "payload.n", "value": 10}}}]}))
            .is_some()
        );
        assert!(never(json!({"any": [{"all": [{"gt": {"path": "payload.n", "value": 5}}, {"lt": {"path": "payload.n", "value": 5}}]},
                                      {"in": {"path": "payload.n", "value": []}}]})).is_some());
        for ok in [
            json!({"all": [{"gt": {"path": "payload.n", "value": 5}}, {"lte": {"path": "payload.n", "value": 5.5}}]}),
            json!({"all": [{"eq": {"path": "payload.v", "value": "AWS"}}, {"eq": {"path": "payload.v", "value": "aws", "ignore_case": true}}]}),
            json!({"all": [{"eq": {"path": "payload.v", "value": "5000"}}, {"gte": {"path": "payload.v", "value": 10}}]}),
            json!({"all": [{"gt": {"path": "payload.a", "value": 10}}, {"lt": {"path": "payload.b", "value": 5}}]}),
            json!({"not": {"all": [{"gt": {"path": "payload.n", "value": 10}}, {"lt": {"path": "payload.n", "value": 5}}]}}),
            json!({"all": [{"eq": {"path": "payload.v", "value": true}}, {"eq": {"path": "payload.v", "value": "TRUE"}}]}),
        ] {
            assert_eq!(never(ok.clone()), None, "{ok}");
        }
    }

    #[test]
    fn subsumption_of_bands_and_sets() {
        let band = cubes(json!({"all": [{"gte": {"path": "payload.n", "value": 50}},
                                         {"lte": {"path": "payload.n", "value": 500}}]}));
        let above = cubes(json!({"gt": {"path": "payload.n", "value": 10}}));
        assert!(subsumed(&band, &above));
        assert!(!subsumed(&above, &band));
        let one = cubes(json!({"eq": {"path": "payload.v", "value": "AWS"}}));
        let some = cubes(json!({"in": {"path": "payload.v", "value": ["AWS", "GCP"]}}));
        assert!(subsumed(&one, &some) && !subsumed(&some, &one));
        assert!(subsumed(&one, &[Vec::new()]));
        let outside = cubes(json!({"not": {"in": {"path": "payload.v", "value": ["AWS"]}}}));
        assert!(!may_overlap(&one, &outside));
        assert!(may_overlap(&some, &outside));
    }
}
