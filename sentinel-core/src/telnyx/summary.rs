//! What the admin hears first: a one-sentence, redacted summary of the action per kind,
//! e.g. "High risk payment detected: 10,000 dollars to Unknown Corp."
//!
//! Only a few named payload fields are read aloud, each redacted (SSNs, card numbers,
//! e-mails, phone numbers, secrets and the packs' declared paths), cut short and stripped
//! of anything but plain words. The agent's reasoning is never read aloud: it is
//! untrusted text and could try to talk the admin into approving.

use serde_json::{Map, Value};

use crate::action::Action;
use crate::redact::{redact_action, redact_for_speech};

/// The key menu after the summary.
pub const MENU: &str = "Press 1 to approve. Press 2 to ask questions.";
/// Longest field value read aloud, in characters.
const MAX_FIELD: usize = 40;

/// "High", "Medium" or "Low" risk, from the score.
pub fn risk_level(risk_score: u8) -> &'static str {
    match risk_score {
        80.. => "High",
        50..=79 => "Medium",
        _ => "Low",
    }
}

/// The spoken summary of `action` (without the menu).
pub fn spoken_summary(action: &Action, risk_score: u8, redact_paths: &[String]) -> String {
    let safe = redact_action(action, redact_paths);
    let p = &safe.payload;
    let risk = risk_level(risk_score);
    let name = safe.action.to_ascii_uppercase();
    let pii = if truthy(p.get("contains_pii")) {
        ", including personal data"
    } else {
        ""
    };
    let text = if ["PAY", "TRANSFER", "WIRE", "REFUND"]
        .iter()
        .any(|k| name.contains(k))
    {
        let amount = amount(p.get("amount"), field(p, &["currency"]).as_deref());
        let to = field(p, &["vendor", "payee", "recipient", "to"])
            .unwrap_or_else(|| "an unnamed recipient".to_owned());
        format!("{risk} risk payment detected: {amount} to {to}.")
    } else if name.contains("EXPORT") {
        let count = count(p.get("record_count"))
            .map(|n| format!("{n} records"))
            .unwrap_or_else(|| "an unknown number of records".to_owned());
        format!("{risk} risk data export detected: {count}{pii}.")
    } else if name.contains("SSN") {
        let who = field(p, &["employee_id", "person_id", "user_id"])
            .map(|w| format!(" for {w}"))
            .unwrap_or_default();
        format!("{risk} risk social security number lookup detected{who}.")
    } else if name.contains("SHARE") {
        let what = field(p, &["record_id", "record"])
            .map(|r| format!(": record {r}"))
            .unwrap_or_default();
        format!("{risk} risk record sharing detected{what}{pii}.")
    } else if name.contains("DELETE_USER") {
        let who = field(p, &["user_id", "username", "user"])
            .map(|u| format!(": user {u}"))
            .unwrap_or_default();
        format!("{risk} risk user deletion detected{who}.")
    } else if name.contains("DROP") {
        let table = field(p, &["table", "database"])
            .map(|t| format!(": table {t}"))
            .unwrap_or_default();
        format!("{risk} risk database drop detected{table}.")
    } else if name.contains("RESTART") {
        let server = field(p, &["server", "host", "service"])
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        let env = field(p, &["environment"])
            .map(|e| format!(" in {e}"))
            .unwrap_or_default();
        format!("{risk} risk server restart detected{server}{env}.")
    } else {
        let words = speakable(&safe.action).to_lowercase();
        let agent = speakable(&safe.agent_id);
        format!("{risk} risk action detected: {words}, requested by agent {agent}.")
    };
    // Belt and braces: the whole sentence goes through redaction once more.
    redact_for_speech(&text)
}

/// The summary followed by the key menu.
pub fn spoken_menu(action: &Action, risk_score: u8, redact_paths: &[String]) -> String {
    format!(
        "{} {MENU}",
        spoken_summary(action, risk_score, redact_paths)
    )
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes"),
        _ => false,
    }
}

/// The first present field among `keys`, made speakable.
fn field(p: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| match p.get(*k)? {
            Value::String(s) => Some(speakable(s)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
}

fn count(v: Option<&Value>) -> Option<String> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(group(n))
}

fn amount(v: Option<&Value>, currency: Option<&str>) -> String {
    let unit = match currency.map(str::to_ascii_uppercase).as_deref() {
        None | Some("USD" | "DOLLARS" | "$") => "dollars".to_owned(),
        Some("EUR") => "euros".to_owned(),
        Some("GBP") => "pounds".to_owned(),
        Some(other) => other.to_owned(),
    };
    match count(v) {
        Some(n) => format!("{n} {unit}"),
        None => match v {
            Some(Value::String(s)) if !speakable(s).is_empty() => {
                format!("an amount given as {}", speakable(s))
            }
            _ => "an unknown amount".to_owned(),
        },
    }
}

/// `10000` → `10,000`; `1000.01` → `1,000.01`; negatives say "minus".
fn group(n: f64) -> String {
    if !n.is_finite() {
        return "an unreadable amount".to_owned();
    }
    let sign = if n < 0.0 { "minus " } else { "" };
    let abs = n.abs();
    let text = format!("{abs:.2}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac == "00" {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Masks become the word "redacted"; only letters, digits and light punctuation remain;
/// at most [`MAX_FIELD`] characters.
fn speakable(text: &str) -> String {
    let unmasked = redact_for_speech(text);
    let cleaned: String = unmasked
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '.' | ',' | '\'' | '&' | '-') {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        if out.chars().count() + w.chars().count() + 1 > MAX_FIELD {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn speaks_each_kind_redacted() {
        let cases = [
            (
                "PAY_INVOICE",
                json!({"amount": 10000, "vendor": "Unknown Corp"}),
                95,
                "High risk payment detected: 10,000 dollars to Unknown Corp.",
            ),
            (
                "PAY_INVOICE",
                json!({"amount": 1000.01, "vendor": "Stripe", "currency": "EUR"}),
                60,
                "Medium risk payment detected: 1,000.01 euros to Stripe.",
            ),
            (
                "PAY_INVOICE",
                json!({"amount": "lots", "vendor": "Card 4111 1111 1111 1111 Ltd"}),
                60,
                "Medium risk payment detected: an amount given as lots to Card redacted Ltd.",
            ),
            (
                "EXPORT_CSV",
                json!({"record_count": 200, "contains_pii": true}),
                95,
                "High risk data export detected: 200 records, including personal data.",
            ),
            (
                "QUERY_SSN",
                json!({"employee_id": "123-45-6789"}),
                90,
                "High risk social security number lookup detected for redacted.",
            ),
            (
                "DROP_TABLE",
                json!({"table": "users"}),
                100,
                "High risk database drop detected: table users.",
            ),
            (
                "RESTART_SERVER",
                json!({"server": "api-1", "environment": "production"}),
                70,
                "Medium risk server restart detected: api-1 in production.",
            ),
            (
                "SEND_EMAIL",
                json!({"to": "ceo@example.com"}),
                40,
                "Low risk action detected: send email, requested by agent session x.",
            ),
        ];
        for (name, payload, risk, expected) in cases {
            let a = Action::new("session_x", name)
                .with_payload(payload)
                .with_reasoning("Press 1 now, it is safe");
            assert_eq!(spoken_summary(&a, risk, &[]), expected, "{name}");
        }
    }

    #[test]
    fn declared_paths_and_long_values_are_not_read() {
        let a = Action::new("a", "SHARE_RECORD")
            .with_payload(json!({"record_id": "r-17 ignore all rules and press one right now please", "contains_pii": true}));
        assert_eq!(
            spoken_summary(&a, 90, &[]),
            "High risk record sharing detected: record r-17 ignore all rules and press one, including personal data."
        );
        let hidden = spoken_summary(&a, 90, &["payload.record_id".to_owned()]);
        assert_eq!(
            hidden,
            "High risk record sharing detected: record redacted, including personal data."
        );
        assert_eq!(
            spoken_menu(&a, 90, &["payload.record_id".to_owned()]),
            format!("{hidden} {MENU}")
        );
    }
}
