//! The full voice flow through the server: an escalation dials a fake Telnyx API on
//! 127.0.0.1, the test posts signed webhooks to `POST /api/telnyx/webhook` as Telnyx would
//! (answer, press 2, a question, "approve"), and the agent's long-poll returns `APPROVED`.
//! Unverified webhooks are refused with 401 and change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use sentinel_core::spec::{SecretValue, TelnyxSecrets, TelnyxSpec};
use serde_json::{Value, json};
use support::*;

const ADMIN_PHONE: &str = "+15550000002";

/// Webhook headers, name and value.
type Headers = Vec<(&'static str, String)>;

/// A fake Telnyx Call Control API that records every request.
#[derive(Clone, Default)]
struct FakeTelnyx {
    log: Arc<Mutex<Vec<(String, Value)>>>,
    fail_dial: Arc<AtomicBool>,
}

impl FakeTelnyx {
    async fn start(&self) -> String {
        let fake = self.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let fake = fake.clone();
            async move {
                let path = uri.path().to_owned();
                fake.log.lock().unwrap().push((path.clone(), serde_json::from_slice(&body).unwrap_or(Value::Null)));
                if path == "/v2/calls" && fake.fail_dial.load(Ordering::SeqCst) {
                    let errors = json!({"errors": [{"code": "10011", "title": "invalid phone number"}]});
                    return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(errors)).into_response();
                }
                if path == "/v2/calls" {
                    let data = json!({"data": {"call_control_id": "v3:call-1", "call_leg_id": "leg-1", "call_session_id": "session-1"}});
                    return axum::Json(data).into_response();
                }
                axum::Json(json!({"data": {"result": "ok"}})).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/v2")
    }

    /// `(action, body)` per request: `dial`, `gather_using_speak`, `speak`...
    fn requests(&self) -> Vec<(String, Value)> {
        let log = self.log.lock().unwrap();
        log.iter()
            .map(|(path, body)| {
                let action = if path == "/v2/calls" {
                    "dial"
                } else {
                    path.rsplit('/').next().unwrap()
                };
                (action.to_owned(), body.clone())
            })
            .collect()
    }

    fn actions(&self) -> Vec<String> {
        self.requests().into_iter().map(|(a, _)| a).collect()
    }

    fn last(&self, action: &str) -> Value {
        self.requests()
            .into_iter()
            .rev()
            .find(|(a, _)| a == action)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("no {action}"))
    }
}

struct Voice {
    s: TestServer,
    fake: FakeTelnyx,
    key: SigningKey,
    next: AtomicU64,
}

impl Voice {
    async fn start() -> Self {
        let fake = FakeTelnyx::default();
        let base = fake.start().await;
        let key = SigningKey::from_bytes(&[7; 32]);
        // `[approver.telnyx]`, with the API key handed over in code.
        let telnyx = TelnyxSpec {
            connection_id: Some("conn-1".to_owned()),
            from_number: Some("+15550000001".to_owned()),
            admin_number: Some(ADMIN_PHONE.to_owned()),
            public_key: Some(STANDARD.encode(key.verifying_key().as_bytes())),
            api_base: Some(base),
            secrets: TelnyxSecrets {
                api_key: Some(SecretValue::new("KEYtest0123456789")),
                pin: None,
            },
            ..TelnyxSpec::default()
        };
        let s = TestServer::start_with(move |c| {
            let mut c = c.with_telnyx(telnyx);
            c.public_url = Some("https://sentinel.example.com".to_owned());
            c
        })
        .await;
        Self {
            s,
            fake,
            key,
            next: AtomicU64::new(1),
        }
    }

    /// A webhook body echoing the latest command's client state, as Telnyx does.
    fn event(&self, event_type: &str, extra: Value) -> String {
        let client_state = self
            .fake
            .requests()
            .last()
            .map(|(_, b)| b["client_state"].clone())
            .unwrap_or(Value::Null);
        let mut payload = json!({"call_control_id": "v3:call-1", "call_leg_id": "leg-1", "call_session_id": "session-1",
            "client_state": client_state, "from": "+15550000001", "to": ADMIN_PHONE});
        if let (Value::Object(p), Value::Object(e)) = (&mut payload, extra) {
            p.extend(e);
        }
        let id = format!("evt-{}", self.next.fetch_add(1, Ordering::SeqCst));
        json!({"data": {"record_type": "event", "event_type": event_type, "id": id, "payload": payload}}).to_string()
    }

    async fn post(&self, body: &str, headers: &[(&str, String)]) -> (u16, Value) {
        let mut request = self
            .s
            .http
            .post(format!("{}/api/telnyx/webhook", self.s.base))
            .body(body.to_owned());
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    fn sign(&self, key: &SigningKey, timestamp: i64, body: &str) -> Headers {
        let signature = key.sign(format!("{timestamp}|{body}").as_bytes());
        vec![
            (
                "telnyx-signature-ed25519",
                STANDARD.encode(signature.to_bytes()),
            ),
            ("telnyx-timestamp", timestamp.to_string()),
        ]
    }

    /// Posts a signed event and expects it handled.
    async fn signed(&self, event_type: &str, extra: Value) -> Value {
        let body = self.event(event_type, extra);
        let (status, answer) = self
            .post(
                &body,
                &self.sign(&self.key, chrono::Utc::now().timestamp(), &body),
            )
            .await;
        assert_eq!(status, 200, "{event_type}: {answer}");
        answer
    }

    async fn status(&self, id: &str) -> String {
        let (_, view) = self
            .s
            .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
            .await;
        view["status"].as_str().unwrap().to_owned()
    }

    /// The call's outcome once it shows: reads never wait on the call, so the outcome of
    /// the event that decided appears once its webhook is handled (a moment after the
    /// decision wakes the long-poll).
    async fn call_outcome(&self, id: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (_, view) = self
                .s
                .get(&format!("/api/sentinel/actions/{id}"), Some(ADMIN))
                .await;
            let outcome = view["voice"]["call"]["outcome"].clone();
            if !outcome.is_null() || started.elapsed() > Duration::from_secs(3) {
                return outcome;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn press_2_ask_a_question_then_approve_by_voice() {
    let v = Voice::start().await;
    let (status, ticket) =
        v.s.execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
            .await;
    assert_eq!(status, 200);
    assert_eq!(ticket["status"], "BLOCKED_AWAITING_AUTH");
    let id = ticket["action_id"].as_str().unwrap().to_owned();

    let dial = v.fake.last("dial");
    assert_eq!(
        (dial["connection_id"].as_str(), dial["to"].as_str()),
        (Some("conn-1"), Some(ADMIN_PHONE))
    );
    assert_eq!(
        dial["webhook_url"],
        "https://sentinel.example.com/api/telnyx/webhook"
    );

    // The agent long-polls while the admin is on the phone.
    let poll = v.s.long_poll(SESSION, &id);

    let answered = v.signed("call.answered", json!({})).await;
    assert_eq!(
        (answered["result"].as_str(), answered["phase"].as_str()),
        (Some("handled"), Some("menu"))
    );
    let menu = v.fake.last("gather_using_speak");
    assert_eq!(
        menu["payload"],
        "High risk payment detected: 10,000 dollars to Unknown Corp. Press 1 to approve. Press 2 to ask questions."
    );
    assert_eq!(menu["valid_digits"], "12");

    v.signed("call.dtmf.received", json!({"digit": "2"})).await;
    assert_eq!(v.status(&id).await, "QNA_MODE");
    assert_eq!(v.fake.actions()[2..], ["speak", "transcription_start"]);
    // The same key reported again by the gather changes nothing.
    let echo = v
        .signed(
            "call.gather.ended",
            json!({"digits": "2", "status": "valid"}),
        )
        .await;
    assert_eq!(echo["result"], "ignored");

    let transcript = |text: &str| json!({"transcription_data": {"transcript": text, "is_final": true, "confidence": 0.9}});
    v.signed("call.transcription", transcript("who is Unknown Corp?"))
        .await;
    let answer = v.fake.last("speak")["payload"].as_str().unwrap().to_owned();
    assert!(
        answer.starts_with("PAY_INVOICE is rated 95 out of 100."),
        "{answer}"
    );
    assert_eq!(v.status(&id).await, "QNA_MODE");

    v.signed("call.transcription", transcript("approve")).await;
    let waited = poll.await.unwrap();
    assert_eq!(waited["status"], "APPROVED");
    let approval = &waited["approval"];
    assert_eq!(
        (approval["by"].as_str(), approval["channel"].as_str()),
        (Some(ADMIN_PHONE), Some("voice/speech"))
    );
    assert_eq!(
        v.fake.last("speak")["payload"],
        "Approved. The action will now run. Goodbye."
    );
    assert_eq!(v.call_outcome(&id).await, "approved");

    // The original status shape carries the call's last key, question and answer.
    let (_, legacy) = v.s.get("/api/sentinel/status", Some(SESSION)).await;
    assert_eq!(legacy["status"], "APPROVED");
    assert_eq!(legacy["last_digit"], "2");
    assert_eq!(legacy["last_question"], "who is Unknown Corp?");
    assert!(
        legacy["last_answer"]
            .as_str()
            .unwrap()
            .starts_with("PAY_INVOICE is rated 95")
    );

    // Telnyx redelivers an event: 200, handled once.
    let body = v.event("call.speak.ended", json!({"status": "completed"}));
    let headers = v.sign(&v.key, chrono::Utc::now().timestamp(), &body);
    assert_eq!(v.post(&body, &headers).await.0, 200);
    assert_eq!(v.fake.actions().last().unwrap(), "hangup");
    let (status, again) = v.post(&body, &headers).await;
    assert_eq!((status, again["result"].as_str()), (200, Some("duplicate")));
    assert_eq!(
        v.fake.actions().iter().filter(|a| *a == "hangup").count(),
        1
    );
}

#[tokio::test]
async fn unverified_webhooks_are_refused_and_change_nothing() {
    let v = Voice::start().await;
    let (_, ticket) =
        v.s.execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
            .await;
    let id = ticket["action_id"].as_str().unwrap().to_owned();
    v.signed("call.answered", json!({})).await;
    let before = v.fake.actions();

    let press_1 = v.event("call.dtmf.received", json!({"digit": "1"}));
    let now = chrono::Utc::now().timestamp();
    let forger = SigningKey::from_bytes(&[9; 32]);
    let tampered = press_1.replace("\"digit\":\"1\"", "\"digit\":\"1\",\"x\":1");
    let cases: Vec<(&str, String, Headers)> = vec![
        ("no signature", press_1.clone(), vec![]),
        (
            "no timestamp",
            press_1.clone(),
            v.sign(&v.key, now, &press_1)[..1].to_vec(),
        ),
        (
            "garbled signature",
            press_1.clone(),
            vec![
                ("telnyx-signature-ed25519", "!!".to_owned()),
                ("telnyx-timestamp", now.to_string()),
            ],
        ),
        (
            "another key",
            press_1.clone(),
            v.sign(&forger, now, &press_1),
        ),
        ("tampered body", tampered, v.sign(&v.key, now, &press_1)),
        (
            "stale timestamp",
            press_1.clone(),
            v.sign(&v.key, now - 3600, &press_1),
        ),
        (
            "future timestamp",
            press_1.clone(),
            v.sign(&v.key, now + 3600, &press_1),
        ),
    ];
    for (what, body, headers) in cases {
        let (status, answer) = v.post(&body, &headers).await;
        assert_eq!(status, 401, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "webhook_unverified", "{what}");
        assert_eq!(v.status(&id).await, "BLOCKED_AWAITING_AUTH", "{what}");
        assert_eq!(v.fake.actions(), before, "{what}: a command was sent");
    }
    // A signed body that is not a call event is a 400.
    let junk = r#"{"data": {"event_type": "call.answered"}}"#;
    let (status, body) = v.post(junk, &v.sign(&v.key, now, junk)).await;
    assert_eq!((status, code(&body)), (400, "invalid_request"));

    // The genuine event still works afterwards.
    v.signed("call.dtmf.received", json!({"digit": "1"})).await;
    assert_eq!(v.status(&id).await, "APPROVED");
}

#[tokio::test]
async fn a_failed_dial_answers_error_telnyx() {
    let v = Voice::start().await;
    v.fake.fail_dial.store(true, Ordering::SeqCst);
    let (status, ticket) =
        v.s.execute(SESSION, &pay("session_42", 10_000, "Unknown Corp"))
            .await;
    assert_eq!(status, 200);
    assert_eq!(ticket["status"], "ERROR_TELNYX");
    let id = ticket["action_id"].as_str().unwrap();
    let (_, view) =
        v.s.get(
            &format!("/api/sentinel/actions/{id}/wait?timeout_s=1"),
            Some(SESSION),
        )
        .await;
    assert_eq!(view["status"], "ERROR_TELNYX");
    let last = view["audit_trail"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["to"].as_str(), last["channel"].as_str()),
        (Some("ERROR_TELNYX"), Some("telnyx-voice"))
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}
