//! Telnyx webhooks and utterances.

use super::*;
use sentinel_core::telnyx::{CallEvent, EventKind, Intent, classify};

const EVENTS: [&str; 11] = [
    "call.initiated",
    "call.answered",
    "call.dtmf.received",
    "call.gather.ended",
    "call.transcription",
    "call.speak.started",
    "call.speak.ended",
    "call.hangup",
    "call.machine.detection.ended",
    "call.machine.premium.detection.ended",
    "call.bridged",
];
const FIELDS: [&str; 13] = [
    "call_control_id",
    "call_leg_id",
    "call_session_id",
    "client_state",
    "from",
    "to",
    "digit",
    "digits",
    "status",
    "hangup_cause",
    "hangup_source",
    "result",
    "state",
];

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => text().prop_map(Value::from),
        1 => Just(json!("")),
        1 => Just(Value::Null),
        1 => any::<i32>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
    ]
}

fn body() -> impl Strategy<Value = Value> {
    let transcription = (
        prop::option::of(field_value()),
        prop::option::of(prop_oneof![
            any::<bool>().prop_map(Value::from),
            text().prop_map(Value::from)
        ]),
        prop::option::of(prop_oneof![
            (0.0f64..=1.0).prop_map(Value::from),
            text().prop_map(Value::from)
        ]),
    )
        .prop_map(|(t, f, c)| {
            let mut d = Map::new();
            t.map(|v| d.insert("transcript".into(), v));
            f.map(|v| d.insert("is_final".into(), v));
            c.map(|v| d.insert("confidence".into(), v));
            Value::Object(d)
        });
    (
        prop_oneof![4 => text().prop_map(Value::from), 1 => any::<u32>().prop_map(Value::from)],
        prop_oneof![6 => select(EVENTS.to_vec()).prop_map(Value::from), 1 => text().prop_map(Value::from), 1 => Just(Value::Null)],
        prop::option::of(prop_oneof![text().prop_map(Value::from), Just(Value::Null)]),
        prop::collection::btree_map(select(FIELDS.to_vec()), field_value(), 0..8),
        prop::option::of(transcription),
        any::<bool>(),
    )
        .prop_map(|(id, event_type, occurred_at, fields, transcription, meta)| {
            let mut payload: Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if let Some(t) = transcription {
                payload.insert("transcription_data".into(), t);
            }
            let mut data = json!({"id": id, "event_type": event_type, "payload": payload, "record_type": "event"});
            if let Some(at) = occurred_at {
                data["occurred_at"] = at;
            }
            let mut body = json!({ "data": data });
            if meta {
                body["meta"] = json!({"attempt": 1, "delivered_to": "https://example.com"});
            }
            body
        })
}

fn words() -> impl Strategy<Value = Vec<String>> {
    let word = select(vec![
        "approve", "approved", "go", "ahead", "do", "it", "don't", "not", "never", "no", "yes",
        "decline", "deny", "block", "stop", "why", "what", "who", "is", "can", "you", "please",
        "ok", "so", "wait", "actually", "maybe", "bye", "goodbye", "hang", "up", "the", "payment",
        "vendor", "sentinel", "I", "we", "more", "details",
    ]);
    prop::collection::vec(word.prop_map(str::to_owned), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A body parses exactly when `data.id` and `data.event_type` are strings, and then
    /// reads as its fields say.
    #[test]
    fn webhook_bodies_parse_as_their_fields_say(body in body()) {
        let text = body.to_string();
        let data = &body["data"];
        let payload = &data["payload"];
        let parsed = CallEvent::parse(text.as_bytes());
        let readable = data["id"].is_string() && data["event_type"].is_string();
        prop_assert_eq!(parsed.is_ok(), readable, "{:?}\n{}", parsed, text);
        let Ok(e) = parsed else { return Ok(()) };
        let field = |k: &str| payload.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        prop_assert_eq!(Some(e.id.as_str()), data["id"].as_str());
        prop_assert_eq!(Some(e.event_type.as_str()), data["event_type"].as_str());
        prop_assert_eq!(e.occurred_at.as_deref(), data["occurred_at"].as_str());
        prop_assert_eq!(e.call.call_control_id, field("call_control_id"));
        prop_assert_eq!(e.call.client_state, field("client_state"));
        prop_assert_eq!(e.call.from, field("from"));
        prop_assert_eq!(e.call.to, field("to"));
        let or_empty = |k: &str| field(k).unwrap_or_default();
        match &e.kind {
            EventKind::DtmfReceived { digit } => prop_assert_eq!(digit, &or_empty("digit")),
            EventKind::GatherEnded { digits, status } => {
                prop_assert_eq!(digits, &or_empty("digits"));
                prop_assert_eq!(status, &or_empty("status"));
            }
            EventKind::Hangup { cause, source } => {
                prop_assert_eq!(cause, &or_empty("hangup_cause"));
                prop_assert_eq!(source, &or_empty("hangup_source"));
            }
            EventKind::Transcription { transcript, is_final, confidence } => {
                let t = &payload["transcription_data"];
                prop_assert_eq!(transcript.as_str(), t["transcript"].as_str().unwrap_or(""));
                prop_assert_eq!(*is_final, t["is_final"].as_bool().unwrap_or(true));
                prop_assert_eq!(*confidence, t["confidence"].as_f64());
            }
            EventKind::Other => prop_assert!(!EVENTS[..10].contains(&e.event_type.as_str())),
            _ => {}
        }
    }

    /// Total and deterministic; a `?` with words in it is a question; no words is unclear;
    /// case and spacing change nothing.
    #[test]
    fn the_classifier_is_total_and_ignores_case_and_spacing(words in words(), punct in select(vec!["", ".", ",", "!", "?", "..."]), spaces in 1usize..4) {
        let utterance = format!("{}{punct}", words.join(" "));
        let intent = classify(&utterance);
        prop_assert_eq!(classify(&utterance), intent);
        if words.is_empty() {
            prop_assert_eq!(intent, Intent::Unclear);
        } else if punct == "?" {
            prop_assert_eq!(intent, Intent::Question);
        }
        prop_assert_eq!(classify(&utterance.to_uppercase()), intent, "{}", utterance);
        let spaced = format!("  {}{punct} ", words.join(&" ".repeat(spaces)));
        prop_assert_eq!(classify(&spaced), intent, "{}", spaced);
    }

    #[test]
    fn the_classifier_never_panics(text in any::<String>()) {
        let intent = classify(&text);
        if !text.chars().any(char::is_alphanumeric) {
            prop_assert_eq!(intent, Intent::Unclear);
        } else if text.contains('?') {
            prop_assert_eq!(intent, Intent::Question);
        }
    }
}
