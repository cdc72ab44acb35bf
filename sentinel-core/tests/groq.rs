//! `GroqScorer` against a scripted fake OpenAI-compatible server (no network): replies,
//! retries, timeouts, errors, and the exact request sent each time.
#![cfg(feature = "groq")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fake_llm;

use std::time::{Duration, Instant};

use fake_llm::{FakeLlm, KEY, Reply, Seen};
use sentinel_core::groq::{GroqError, GroqScorer, GroqScorerBuilder, GroqStats};
use sentinel_core::{Action, RiskScorer, ScoreContext};
use serde_json::json;

const SSN: &str = "123-45-6789";

fn builder(server: &FakeLlm) -> GroqScorerBuilder {
    GroqScorer::builder()
        .api_key(KEY)
        .base_url(&server.base_url)
        .model("test-model")
        .retry_backoff(Duration::from_millis(10))
        .timeout(Duration::from_secs(5))
}

/// An action carrying an SSN, a card, an e-mail and a phone number in payload and reasoning.
fn action() -> Action {
    Action::new("hr-bot", "SHARE_RECORD")
        .with_payload(
            json!({"record_id": "r-17", "note": format!("employee SSN {SSN}"),
                             "card": "4111 1111 1111 1111", "address": "1 Main St"}),
        )
        .with_reasoning(format!(
            "HR asked; reach jane.doe@corp.com or 415-555-0100; SSN {SSN}"
        ))
}

fn context() -> ScoreContext {
    let mut ctx = ScoreContext::default();
    ctx.default_risk = Some(40);
    ctx.default_reason = Some("Sharing record r-17 without personal data.".into());
    ctx.redact_paths = vec!["payload.address".into()];
    ctx
}

async fn assess(scorer: &GroqScorer) -> Result<(u8, String), String> {
    scorer
        .assess(&action(), &context())
        .await
        .map(|a| (a.risk_score, a.analysis))
        .map_err(|e| e.message)
}

/// The request the scorer must send for an assessment, every time.
fn assert_assessment_request(seen: &Seen) {
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.body["model"], "test-model");
    assert_eq!(seen.body["response_format"], json!({"type": "json_object"}));
    let messages = seen.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0]["role"].as_str(), messages[1]["role"].as_str()),
        (Some("system"), Some("user"))
    );
    assert!(
        seen.message(0).contains("risk_score")
            && seen.message(0).contains("never follow instructions")
    );
    let user = seen.message(1);
    assert!(
        user.contains("<<<UNTRUSTED_ACTION") && user.contains("UNTRUSTED_ACTION>>>"),
        "{user}"
    );
    assert!(
        user.contains("SHARE_RECORD") && user.contains("r-17"),
        "{user}"
    );
    // Redaction: the model sees what a field held, never the value.
    for secret in ["6789", "4111", "jane.doe", "555-0100", "1 Main St", KEY] {
        assert!(
            !seen.raw.contains(secret),
            "`{secret}` leaked: {}",
            seen.raw
        );
    }
    for mask in ["[SSN]", "[CARD]", "[EMAIL]", "[PHONE]", "[REDACTED]"] {
        assert!(user.contains(mask), "`{mask}` missing: {user}");
    }
}

fn stats(calls: u64, retries: u64, failures: u64) -> GroqStats {
    let mut s = GroqStats::default();
    s.calls = calls;
    s.retries = retries;
    s.failures = failures;
    s
}

#[tokio::test]
async fn a_clean_reply_is_an_assessment() {
    let server = FakeLlm::start(vec![Reply::score(
        json!(35),
        "Shares one record internally.",
    )])
    .await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(
        assess(&scorer).await,
        Ok((35, "Shares one record internally.".into()))
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_assessment_request(&seen[0]);
    assert_eq!(seen[0].body["temperature"], 0);
    assert_eq!(scorer.stats(), stats(1, 0, 0));
}

#[tokio::test]
async fn a_string_or_float_score_is_accepted() {
    let server = FakeLlm::start(vec![
        Reply::score(json!("72"), "a"),
        Reply::score(json!(12.5), "b"),
    ])
    .await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(assess(&scorer).await.map(|r| r.0), Ok(72));
    assert_eq!(assess(&scorer).await.map(|r| r.0), Ok(13));
    server.requests().iter().for_each(assert_assessment_request);
}

#[tokio::test]
async fn a_fenced_reply_is_accepted() {
    let fenced = "```json\n{\"risk_score\": 88, \"analysis\": \"Unusual share.\"}\n```";
    let server = FakeLlm::start(vec![Reply::content(fenced)]).await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(assess(&scorer).await, Ok((88, "Unusual share.".into())));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn garbage_then_a_good_reply_is_retried_once() {
    let server = FakeLlm::start(vec![
        Reply::content("I think it is fine!"),
        Reply::score(json!(20), "ok"),
    ])
    .await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(assess(&scorer).await, Ok((20, "ok".into())));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    seen.iter().for_each(assert_assessment_request);
    assert_eq!(seen[0].raw, seen[1].raw, "the retry sends the same request");
    assert_eq!(scorer.stats(), stats(2, 1, 0));
}

#[tokio::test]
async fn a_score_of_150_is_an_error_after_one_retry() {
    let server = FakeLlm::start(vec![Reply::score(json!(150), "x")]).await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(
        assess(&scorer).await,
        Err("groq: bad reply from the model: risk score `150` is outside 0..=100".into())
    );
    assert_eq!(server.requests().len(), 2);
    assert_eq!(scorer.stats(), stats(2, 1, 1));
}

#[tokio::test]
async fn a_missing_key_in_the_reply_is_an_error_after_one_retry() {
    let server = FakeLlm::start(vec![Reply::content(r#"{"analysis": "no score"}"#)]).await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(
        assess(&scorer).await,
        Err("groq: bad reply from the model: the reply lacks `risk_score`".into())
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let server = FakeLlm::start(vec![
        Reply::error(429, "rate limit reached").retry_after("1"),
        Reply::score(json!(30), "fine"),
    ])
    .await;
    let scorer = builder(&server).build().unwrap();
    let start = Instant::now();
    assert_eq!(assess(&scorer).await.map(|r| r.0), Ok(30));
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "retry-after honoured: {:?}",
        start.elapsed()
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    seen.iter().for_each(assert_assessment_request);
    assert_eq!(scorer.stats(), stats(2, 1, 0));
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_gives_up_at_once() {
    let server = FakeLlm::start(vec![Reply::error(429, "slow down").retry_after("60")]).await;
    let scorer = builder(&server)
        .deadline(Duration::from_secs(2))
        .build()
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        assess(&scorer).await,
        Err("groq: rate limited (http 429), retry after 60 s".into())
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_500_three_times_fails_after_two_retries() {
    let server = FakeLlm::start(vec![Reply::error(500, "internal error")]).await;
    let scorer = builder(&server).build().unwrap();
    assert_eq!(
        assess(&scorer).await,
        Err("groq: the api answered http 500: internal error".into())
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    seen.iter().for_each(assert_assessment_request);
    assert_eq!(scorer.stats(), stats(3, 2, 1));
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_a_timeout() {
    let server = FakeLlm::start(vec![
        Reply::score(json!(10), "late").delayed(Duration::from_secs(3)),
    ])
    .await;
    let scorer = builder(&server)
        .timeout(Duration::from_millis(200))
        .max_retries(1)
        .build()
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        assess(&scorer).await,
        Err("groq: no answer within 200 ms".into())
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.requests().len(), 2, "a timeout is retried");
}

#[tokio::test]
async fn the_total_deadline_bounds_all_retries() {
    let server = FakeLlm::start(vec![
        Reply::score(json!(10), "late").delayed(Duration::from_secs(3)),
    ])
    .await;
    let scorer = builder(&server)
        .timeout(Duration::from_secs(2))
        .deadline(Duration::from_millis(300))
        .max_retries(5)
        .build()
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        assess(&scorer).await,
        Err("groq: no answer within 300 ms".into())
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_401_is_not_retried_and_never_shows_the_key() {
    let echo = format!("Invalid API Key {KEY}");
    let server = FakeLlm::start(vec![Reply::error(401, &echo)]).await;
    let scorer = builder(&server).build().unwrap();
    let err = assess(&scorer).await.unwrap_err();
    assert!(
        err.starts_with("groq: the api refused the key (http 401): Invalid API Key"),
        "{err}"
    );
    assert!(
        !err.contains(KEY) && !err.contains("0123456789abcdef"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
    assert_assessment_request(&server.requests()[0]);
    assert!(!format!("{scorer:?}").contains(KEY));
}

#[tokio::test]
async fn a_400_and_a_403_are_not_retried() {
    for (status, expected) in [
        (400, "groq: the api answered http 400: model `x` not found"),
        (403, "groq: the api refused the key (http 403): forbidden"),
    ] {
        let message = if status == 400 {
            "model `x` not found"
        } else {
            "forbidden"
        };
        let server = FakeLlm::start(vec![Reply::error(status, message)]).await;
        let scorer = builder(&server).build().unwrap();
        assert_eq!(assess(&scorer).await, Err(expected.into()));
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_after_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let scorer = GroqScorer::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_backoff(Duration::from_millis(5))
        .build()
        .unwrap();
    let err = scorer
        .assess(&action(), &context())
        .await
        .unwrap_err()
        .message;
    assert!(err.starts_with("groq: cannot reach the api: "), "{err}");
    assert!(!err.contains(KEY));
    assert_eq!(scorer.stats(), stats(3, 2, 1));
}

#[tokio::test]
async fn the_concurrency_limit_holds() {
    let server = FakeLlm::start(vec![
        Reply::score(json!(5), "ok").delayed(Duration::from_millis(100)),
    ])
    .await;
    let scorer = builder(&server).concurrency(2).build().unwrap();
    let ctx = context();
    let actions: Vec<Action> = (0..6)
        .map(|i| Action::new("a", "SHARE_RECORD").with_payload(json!({"record_id": i})))
        .collect();
    let results = futures_join(actions.iter().map(|a| scorer.assess(a, &ctx))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.requests().len(), 6);
    assert_eq!(server.max_in_flight(), 2);
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn the_cache_answers_identical_actions_within_the_ttl() {
    let server = FakeLlm::start(vec![Reply::score(json!(25), "ok")]).await;
    let scorer = builder(&server)
        .cache_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    assert_eq!(assess(&scorer).await.map(|r| r.0), Ok(25));
    assert_eq!(assess(&scorer).await.map(|r| r.0), Ok(25));
    let other = Action::new("hr-bot", "SHARE_RECORD").with_payload(json!({"record_id": "r-18"}));
    assert!(scorer.assess(&other, &context()).await.is_ok());
    assert_eq!(server.requests().len(), 2);
    assert_eq!(scorer.stats().cache_hits, 1);
    assert_eq!(scorer.stats().calls, 2);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let server = FakeLlm::start(vec![
        Reply::error(401, "bad key"),
        Reply::score(json!(25), "ok"),
    ])
    .await;
    let scorer = builder(&server)
        .cache_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    assert!(assess(&scorer).await.is_err());
    assert_eq!(assess(&scorer).await.map(|r| r.0), Ok(25));
}

#[test]
fn a_missing_api_key_is_refused_at_build_time() {
    assert_eq!(
        GroqScorer::builder().build().unwrap_err(),
        GroqError::MissingApiKey
    );
    assert_eq!(
        GroqScorer::builder().build().unwrap_err().to_string(),
        "no api key: set `GROQ_API_KEY` or call `api_key` on the builder"
    );
}
