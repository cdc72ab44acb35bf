//! Defensive parsing of chat completion replies. Nothing is clamped: a score outside
//! 0..=100, a missing key or a reply that is not JSON is an error.

use serde_json::Value;

use super::error::GroqError;
use crate::redact::redact_text;
use crate::scorer::Assessment;

/// The first choice's message text from a chat completion body.
pub(crate) fn message_content(body: &[u8]) -> Result<String, GroqError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| GroqError::BadReply(format!("the response body is not JSON ({e})")))?;
    crate::telemetry::annotate(|| usage(&value));
    let content = value.pointer("/choices/0/message/content").ok_or_else(|| {
        GroqError::BadReply("the response has no `choices[0].message.content`".into())
    })?;
    match content.as_str() {
        Some(text) if !text.trim().is_empty() => Ok(text.to_owned()),
        Some(_) => Err(GroqError::BadReply("the message is empty".into())),
        None => Err(GroqError::BadReply(
            "`choices[0].message.content` is not text".into(),
        )),
    }
}

/// The reply's model and token usage, as GenAI span attributes (those it gives).
fn usage(value: &Value) -> crate::telemetry::Attrs {
    let mut attrs = crate::telemetry::Attrs::new();
    if let Some(model) = value.get("model").and_then(Value::as_str) {
        attrs.push(("gen_ai.response.model", model.into()));
    }
    for (key, attr) in [
        ("prompt_tokens", "gen_ai.usage.input_tokens"),
        ("completion_tokens", "gen_ai.usage.output_tokens"),
    ] {
        if let Some(n) = value
            .pointer(&format!("/usage/{key}"))
            .and_then(Value::as_i64)
        {
            attrs.push((attr, n.into()));
        }
    }
    attrs
}

/// Removes a surrounding Markdown code fence (```` ```json ... ``` ````), if any.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let Some(body) = rest.trim_end().strip_suffix("```") else {
        return t;
    };
    // Drop the info string (`json`) on the opening line.
    match body.split_once('\n') {
        Some((info, inner)) if !info.trim().contains(['{', '}']) => inner.trim(),
        _ => body.trim(),
    }
}

/// A score from an integer, a float (rounded) or a numeric string.
fn score(value: &Value) -> Result<u8, GroqError> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
    .ok_or_else(|| {
        GroqError::BadReply(format!(
            "`risk_score` is not a number: `{}`",
            short(&value.to_string())
        ))
    })?;
    let rounded = number.round();
    if !(0.0..=100.0).contains(&rounded) {
        return Err(GroqError::BadReply(format!(
            "risk score `{number}` is outside 0..=100"
        )));
    }
    // In range and integral: the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(rounded as u8)
}

/// Parses the model's text into an assessment.
pub(crate) fn assessment(text: &str) -> Result<Assessment, GroqError> {
    let json = strip_fence(text);
    let value: Value = serde_json::from_str(json).map_err(|_| {
        GroqError::BadReply(format!("the model did not answer JSON: `{}`", short(json)))
    })?;
    let Value::Object(map) = value else {
        return Err(GroqError::BadReply(
            "the model's JSON is not an object".into(),
        ));
    };
    let raw = map
        .get("risk_score")
        .ok_or_else(|| GroqError::BadReply("the reply lacks `risk_score`".into()))?;
    let risk_score = score(raw)?;
    let analysis = match map.get("analysis") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
        Some(_) => {
            return Err(GroqError::BadReply(
                "`analysis` is not a non-empty text".into(),
            ));
        }
        None => return Err(GroqError::BadReply("the reply lacks `analysis`".into())),
    };
    Assessment::new(risk_score, redact_text(analysis)).map_err(|e| GroqError::BadReply(e.message))
}

/// A spoken answer: trimmed, redacted, one paragraph.
pub(crate) fn answer(text: &str) -> Result<String, GroqError> {
    let spoken = strip_fence(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if spoken.is_empty() {
        return Err(GroqError::BadReply("the answer is empty".into()));
    }
    Ok(redact_text(&spoken).into_owned())
}

/// At most 80 characters of model output, redacted, for error messages.
fn short(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    redact_text(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_integers_floats_strings_and_fences() {
        for (text, expected) in [
            (r#"{"risk_score": 42, "analysis": "ok"}"#, 42),
            (r#"{"risk_score": 41.6, "analysis": "ok"}"#, 42),
            (r#"{"risk_score": " 42 ", "analysis": "ok"}"#, 42),
            ("```json\n{\"risk_score\": 7, \"analysis\": \"ok\"}\n```", 7),
            ("```\n{\"risk_score\": 100, \"analysis\": \"ok\"}```", 100),
            ("```{\"risk_score\": 0, \"analysis\": \"ok\"}```", 0),
        ] {
            assert_eq!(
                assessment(text).map(|a| a.risk_score),
                Ok(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_out_of_range_missing_and_non_json() {
        for (text, needle) in [
            (
                r#"{"risk_score": 150, "analysis": "x"}"#,
                "risk score `150` is outside 0..=100",
            ),
            (r#"{"risk_score": -1, "analysis": "x"}"#, "outside"),
            (r#"{"risk_score": 100.6, "analysis": "x"}"#, "outside"),
            (r#"{"risk_score": "high", "analysis": "x"}"#, "not a number"),
            (r#"{"risk_score": null, "analysis": "x"}"#, "not a number"),
            (r#"{"analysis": "x"}"#, "lacks `risk_score`"),
            (r#"{"risk_score": 5}"#, "lacks `analysis`"),
            (r#"{"risk_score": 5, "analysis": ""}"#, "non-empty"),
            ("[1, 2]", "not an object"),
            ("Sure! The risk is low.", "did not answer JSON"),
        ] {
            let err = assessment(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn reads_the_message_content() {
        let body = br#"{"choices": [{"message": {"role": "assistant", "content": "hi"}}]}"#;
        assert_eq!(message_content(body), Ok("hi".to_owned()));
        assert!(message_content(b"<html>").is_err());
        assert!(message_content(br#"{"choices": []}"#).is_err());
        assert!(message_content(br#"{"choices": [{"message": {"content": null}}]}"#).is_err());
    }

    #[test]
    fn answers_are_one_redacted_paragraph() {
        assert_eq!(
            answer(" It pays 10000.\n\nDecline. Call 415-555-0100. "),
            Ok("It pays 10000. Decline. Call [PHONE].".to_owned())
        );
        assert!(answer("  ").is_err());
    }
}
