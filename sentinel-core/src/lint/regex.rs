//! Regular expressions that can never match: an empty class (`[^\s\S]`), or an anchor
//! that text must come before (`a^b`, `x$y`, outside multi-line mode).

use regex_syntax::hir::{Hir, HirKind, Look};

/// Why `pattern` can never match anything, or `None` when it may (or does not parse: the
/// loader already refused such a pack).
pub(crate) fn never_matches(pattern: &str, ignore_case: bool) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(ignore_case)
        .build()
        .parse(pattern)
        .ok()?;
    if hir.properties().minimum_len().is_none() {
        return Some("it matches no text at all (an empty character class)".to_owned());
    }
    dead(&hir)
}

fn consumes(hir: &Hir) -> bool {
    hir.properties().minimum_len().is_some_and(|n| n > 0)
}

fn dead(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Concat(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(why) = dead(item) {
                    return Some(why);
                }
                let p = item.properties();
                if p.look_set_prefix().contains(Look::Start) && items[..i].iter().any(consumes) {
                    return Some(
                        "text must come before the start-of-text anchor `^` (use `(?m)` for lines)"
                            .to_owned(),
                    );
                }
                if p.look_set_suffix().contains(Look::End) && items[i + 1..].iter().any(consumes) {
                    return Some(
                        "text must follow the end-of-text anchor `$` (use `(?m)` for lines)"
                            .to_owned(),
                    );
                }
            }
            None
        }
        HirKind::Alternation(items) => {
            let whys: Vec<String> = items.iter().map(dead).collect::<Option<_>>()?;
            whys.into_iter().next()
        }
        HirKind::Capture(c) => dead(&c.sub),
        HirKind::Repetition(r) if r.min > 0 => dead(&r.sub),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_patterns_are_named_and_live_ones_pass() {
        for dead in [
            "[^\\s\\S]",
            "a^b",
            "x$y",
            "(?:foo^)+",
            "(a$b|c^d)",
            "\\P{any}",
        ] {
            assert!(never_matches(dead, false).is_some(), "{dead}");
        }
        for live in [
            "^a",
            "a$",
            "(?m)a$\\nb",
            "^$",
            "(a|^b)",
            "x?^y",
            "\\d{3,}",
            "a^*b",
        ] {
            assert_eq!(never_matches(live, false), None, "{live}");
        }
    }
}
