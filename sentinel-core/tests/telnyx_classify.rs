//! The Q&A utterance classifier, table-driven: negations, questions, hesitations.
#![cfg(feature = "telnyx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use sentinel_core::telnyx::{Intent, classify};

use Intent::{Approve, Decline, Goodbye, Question, Unclear};

const CASES: &[(&str, Intent)] = &[
    // The examples.
    ("why should I approve this?", Question),
    ("don't approve", Decline),
    ("do not approve it", Decline),
    ("nothing else, approve", Approve),
    ("block it", Decline),
    ("reject", Decline),
    ("goodbye", Goodbye),
    ("approve it", Approve),
    ("no, decline", Decline),
    // Approvals.
    ("Approve.", Approve),
    ("I approve", Approve),
    ("yes, approve it", Approve),
    ("Okay, go ahead.", Approve),
    ("authorize the payment", Approve),
    ("confirmed", Approve),
    ("accept", Approve),
    ("do it", Approve),
    ("no more questions, approve it", Approve),
    ("approve it, bye", Approve),
    ("sentinel approve", Approve),
    ("that's all, approve", Approve),
    // Declines and negated approvals.
    ("I do not want to approve this", Decline),
    ("I can't approve that", Decline),
    ("never approve payments to them", Decline),
    ("please don't approve this", Decline),
    ("don't do it", Decline),
    ("deny", Decline),
    ("cancel the payment", Decline),
    ("absolutely not", Decline),
    ("no way", Decline),
    ("stop", Decline),
    ("I would not authorize it", Decline),
    ("shut it down", Decline),
    // Questions, even when they mention approving.
    ("should I approve this", Question),
    ("approve it?", Question),
    ("so why should I approve it", Question),
    ("who is Unknown Corp", Question),
    ("How much is it", Question),
    ("what happens if I decline", Question),
    ("Is this vendor new", Question),
    ("do we know this vendor", Question),
    ("can you approve it", Question),
    ("tell me more about the vendor", Question),
    ("explain the risk", Question),
    ("I have a question", Question),
    ("I want to know why", Question),
    // Goodbyes.
    ("bye bye", Goodbye),
    ("hang up", Goodbye),
    ("that's all", Goodbye),
    ("I'll call you back later, bye", Goodbye),
    // Unclear: never an approval.
    ("yes", Unclear),
    ("no", Unclear),
    ("sure", Unclear),
    ("", Unclear),
    ("um", Unclear),
    ("not now", Unclear),
    ("I'm not sure", Unclear),
    ("not sure, maybe approve", Unclear),
    ("approve it. actually no, wait", Unclear),
    ("approve, no wait, decline", Unclear),
    ("don't block it", Unclear),
    ("go ahead and block it", Unclear),
    ("approve it, scratch that", Unclear),
    ("no no no approve no", Unclear),
    ("approve it no wait", Unclear),
    // Unpunctuated speech, as recognisers often return it.
    ("no questions approve it", Approve),
    ("nothing else approve", Approve),
    ("why should i approve this", Question),
    ("do not approve", Decline),
];

#[test]
fn utterances_are_classified_fail_closed() {
    assert!(CASES.len() >= 40);
    let wrong: Vec<String> = CASES
        .iter()
        .filter(|(text, want)| classify(text) != *want)
        .map(|(text, want)| format!("{text:?}: want {want:?}, got {:?}", classify(text)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}

#[test]
fn nothing_unclear_or_negated_ever_approves() {
    let risky = [
        "approve? no",
        "not approve",
        "don't you dare approve",
        "approve... not",
        "no no no approve no",
    ];
    for text in risky {
        assert_ne!(classify(text), Approve, "{text}");
    }
}
