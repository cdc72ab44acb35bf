//! What the admin meant by an utterance in Q&A mode: approve, decline, a question,
//! goodbye, or unclear.
//!
//! The classifier fails closed. Anything that sounds like a question is a question (even
//! "why should I approve this?"); a negated approval ("don't approve", "I do not want to
//! approve it") is a decline; approval mixed with refusal or hesitation ("approve it...
//! actually no, wait") is unclear; and a bare "yes" or "no" is unclear, because only an
//! explicit approval word approves.

/// The admin's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// Approve the action.
    Approve,
    /// Decline the action.
    Decline,
    /// A question for the scorer.
    Question,
    /// End the call, leaving the action undecided.
    Goodbye,
    /// Not understood: ask again.
    Unclear,
}

/// Words that approve on their own.
const APPROVE: &[&str] = &[
    "approve",
    "approved",
    "approves",
    "approving",
    "authorize",
    "authorise",
    "authorized",
    "authorised",
    "confirm",
    "confirmed",
    "accept",
    "accepted",
    "allow",
    "allowed",
    "proceed",
    "greenlight",
];
/// Phrases that approve.
const APPROVE_PHRASES: &[&str] = &[
    "go ahead",
    "do it",
    "let it through",
    "let it go through",
    "sign off",
    "green light",
    "ship it",
    "send it",
    "pay it",
    "carry on",
];
/// Words that decline.
const DECLINE: &[&str] = &[
    "decline",
    "declined",
    "deny",
    "denied",
    "reject",
    "rejected",
    "refuse",
    "refused",
    "block",
    "blocked",
    "cancel",
    "cancelled",
    "canceled",
    "stop",
    "abort",
    "veto",
    "disapprove",
    "disallow",
    "forbid",
    "halt",
];
/// Phrases that decline.
const DECLINE_PHRASES: &[&str] = &[
    "no way",
    "absolutely not",
    "not a chance",
    "hell no",
    "kill it",
    "shut it down",
    "hold off",
    "do not do it",
];
/// Words that negate what follows in their clause.
const NEGATORS: &[&str] = &[
    "not", "never", "cannot", "dont", "doesnt", "shouldnt", "wont", "wouldnt", "mustnt", "cant",
    "nor",
];
/// Whole-clause hesitations: these clauses retract or doubt.
const HESITATION: &[&str] = &[
    "no", "nope", "nah", "wait", "actually", "hold", "on", "hmm", "um", "uh", "hang", "sorry",
    "scratch", "that",
];
/// Phrases that doubt.
const DOUBT_PHRASES: &[&str] = &[
    "not sure",
    "unsure",
    "do not know",
    "dont know",
    "no idea",
    "let me think",
    "maybe",
    "i guess",
    "perhaps",
];
/// Words that start a question.
const QUESTION_STARTS: &[&str] = &[
    "why", "what", "whats", "who", "whos", "whose", "how", "hows", "when", "where", "which", "is",
    "are", "was", "were", "can", "could", "would", "should", "does", "did", "will", "has", "am",
    "explain", "tell", "describe", "repeat", "clarify", "say", "remind",
];
/// Words that make a question anywhere in an utterance without a decision.
const QUESTION_WORDS: &[&str] = &[
    "why", "what", "who", "how", "when", "where", "which", "question", "explain", "details",
    "detail", "more",
];
/// Phrases that end the call.
const GOODBYE_PHRASES: &[&str] = &[
    "goodbye",
    "good bye",
    "bye",
    "hang up",
    "end the call",
    "end call",
    "talk later",
    "call me back",
    "call back later",
    "that is all",
    "thats all",
    "i am done",
    "im done",
];
/// Leading filler words skipped before looking for a question start.
const FILLERS: &[&str] = &[
    "so", "and", "but", "well", "okay", "ok", "um", "uh", "hmm", "alright", "then", "also", "hey",
    "sentinel", "please", "oh",
];

/// Classifies one final transcript.
pub fn classify(utterance: &str) -> Intent {
    let asked = utterance.contains('?');
    let clauses = clauses(utterance);
    if clauses.iter().all(Vec::is_empty) {
        return Intent::Unclear;
    }
    let first = clauses
        .iter()
        .find(|c| !c.is_empty())
        .cloned()
        .unwrap_or_default();
    if asked || starts_question(&first) {
        return Intent::Question;
    }

    let (mut approve, mut decline, mut doubt) = (false, false, false);
    for clause in &clauses {
        let text = clause.join(" ");
        if !clause.is_empty()
            && clause
                .iter()
                .all(|w| HESITATION.contains(&w.as_str()) || NEGATORS.contains(&w.as_str()))
        {
            doubt = true;
            continue;
        }
        if DOUBT_PHRASES.iter().any(|p| has_phrase(&text, p)) {
            doubt = true;
        }
        if DECLINE_PHRASES.iter().any(|p| has_phrase(&text, p)) {
            decline = true;
        }
        for (i, word) in clause.iter().enumerate() {
            let negated = clause[..i]
                .iter()
                .rev()
                .take(4)
                .any(|w| NEGATORS.contains(&w.as_str()));
            if APPROVE.contains(&word.as_str()) {
                doubt |= hedged(clause, i, i + 1);
                if negated {
                    decline = true
                } else {
                    approve = true
                }
            } else if DECLINE.contains(&word.as_str()) {
                // "don't block it" is not an approval: it only makes the clause unclear.
                if negated {
                    doubt = true
                } else {
                    decline = true
                }
            }
        }
        for phrase in APPROVE_PHRASES {
            if let Some(at) = find_phrase(clause, phrase) {
                doubt |= hedged(clause, at, at + phrase.split(' ').count());
                let negated = clause[..at]
                    .iter()
                    .rev()
                    .take(4)
                    .any(|w| NEGATORS.contains(&w.as_str()));
                if negated {
                    decline = true
                } else {
                    approve = true
                }
            }
        }
    }
    match (approve, decline) {
        (true, false) if !doubt => Intent::Approve,
        (true, _) => Intent::Unclear,
        (false, true) => Intent::Decline,
        (false, false) => {
            let words: Vec<&String> = clauses.iter().flatten().collect();
            let all = words
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            if GOODBYE_PHRASES.iter().any(|p| has_phrase(&all, p)) {
                Intent::Goodbye
            } else if words.iter().any(|w| QUESTION_WORDS.contains(&w.as_str())) {
                Intent::Question
            } else {
                Intent::Unclear
            }
        }
    }
}

/// Lowercase words per clause; clauses end at `, . ; ! ?` and contractions are spelled out.
fn clauses(text: &str) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Vec<String>>| {
        if !word.is_empty() {
            let w = std::mem::take(word);
            if let Some(clause) = out.last_mut() {
                clause.extend(expand(&w).split(' ').map(str::to_owned));
            }
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if c == '\'' || c == '\u{2019}' {
            // "don't" → "dont", expanded below.
        } else {
            flush(&mut word, &mut out);
            if matches!(c, ',' | '.' | ';' | '!' | '?' | ':') {
                out.push(Vec::new());
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Spells out contractions so that negations look alike.
fn expand(word: &str) -> &str {
    match word {
        "dont" => "do not",
        "doesnt" => "does not",
        "didnt" => "did not",
        "cant" => "can not",
        "wont" => "will not",
        "shouldnt" => "should not",
        "wouldnt" => "would not",
        "isnt" => "is not",
        "arent" => "are not",
        "mustnt" => "must not",
        "thats" => "that is",
        "whats" => "what is",
        "im" => "i am",
        "okay" => "ok",
        other => other,
    }
}

/// A bare "no" right before an approval (in unpunctuated speech), or a retraction after
/// it in the same clause, makes the approval doubtful.
fn hedged(clause: &[String], start: usize, end: usize) -> bool {
    const RETRACT: &[&str] = &["no", "nope", "nah", "wait", "actually"];
    let before = start
        .checked_sub(1)
        .and_then(|i| clause.get(i))
        .is_some_and(|w| RETRACT[..3].contains(&w.as_str()));
    before
        || clause
            .get(end..)
            .is_some_and(|rest| rest.iter().any(|w| RETRACT.contains(&w.as_str())))
}

fn starts_question(clause: &[String]) -> bool {
    let mut words = clause
        .iter()
        .map(String::as_str)
        .skip_while(|w| FILLERS.contains(w));
    let (Some(first), second) = (words.next(), words.next()) else {
        return false;
    };
    match first {
        // "do you / do we ..." asks; "do it", "do not" do not.
        "do" => matches!(second, Some("you" | "we" | "they" | "i" | "he" | "she")),
        // "can not", "will not", "should not" are refusals, not questions.
        _ if QUESTION_STARTS.contains(&first) => second != Some("not"),
        _ => false,
    }
}

fn has_phrase(text: &str, phrase: &str) -> bool {
    let padded = format!(" {text} ");
    padded.contains(&format!(" {phrase} "))
}

fn find_phrase(clause: &[String], phrase: &str) -> Option<usize> {
    let parts: Vec<&str> = phrase.split(' ').collect();
    (0..clause.len()).find(|&i| {
        clause.len() >= i + parts.len()
            && parts
                .iter()
                .zip(&clause[i..])
                .all(|(p, w)| *p == w.as_str())
    })
}
