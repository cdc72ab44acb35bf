//! Slow and greedy clients, over raw TCP sockets against the real server: partial headers
//! and idle connections are closed at the header timeout; a declared body over the limit
//! is refused at once; a withheld body gets 408 at the body timeout; connections beyond
//! the cap are answered 503 and closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a raw connection saw: the bytes the server sent, and when it closed (`None`: it
/// was still open after `within`).
struct Seen {
    text: String,
    closed_after: Option<Duration>,
}

/// Connects, writes `bytes`, and reads until the server closes or `within` passes.
async fn talk(addr: SocketAddr, bytes: &[u8], within: Duration) -> Seen {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_until_closed(&mut stream, started, within).await
}

async fn read_until_closed(stream: &mut TcpStream, started: Instant, within: Duration) -> Seen {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = started + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Seen {
                    text: String::from_utf8_lossy(&text).into_owned(),
                    closed_after: Some(started.elapsed()),
                };
            }
            Ok(Ok(n)) => text.extend_from_slice(&buf[..n]),
            Err(_) => {
                return Seen {
                    text: String::from_utf8_lossy(&text).into_owned(),
                    closed_after: None,
                };
            }
        }
    }
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[tokio::test]
async fn partial_headers_and_idle_connections_are_closed_at_the_header_timeout() {
    let s = TestServer::start_with(|mut c| {
        c.header_timeout = seconds(1.0);
        c
    })
    .await;
    let addr = s.server.addr();
    let partial = talk(
        addr,
        b"POST /api/sentinel/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bea",
        seconds(10.0),
    )
    .await;
    let closed = partial.closed_after.expect("still open after 10 s");
    assert!(
        closed >= seconds(0.9) && closed < seconds(3.0),
        "closed after {closed:?}"
    );
    let idle = talk(addr, b"", seconds(10.0)).await;
    let closed = idle.closed_after.expect("still open after 10 s");
    assert!(closed < seconds(3.0), "closed after {closed:?}");

    // Many at once: each is closed on time, and the server still answers.
    let started = Instant::now();
    let many: Vec<_> = (0..300)
        .map(|_| tokio::spawn(talk(addr, b"GET /healthz HTTP/1.1\r\nHo", seconds(10.0))))
        .collect();
    for seen in many {
        let seen = seen.await.unwrap();
        assert!(
            seen.closed_after.is_some(),
            "a slow connection outlived 10 s"
        );
    }
    let all_closed = started.elapsed();
    eprintln!("300 partial-header connections all closed after {all_closed:?}");
    assert!(all_closed < seconds(4.0), "{all_closed:?}");
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_at_once() {
    let s = TestServer::start().await; // max_body_bytes 4096
    let head = format!(
        "POST /api/sentinel/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {BILLING}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{\"agent_id\""
    );
    let seen = talk(s.server.addr(), head.as_bytes(), seconds(5.0)).await;
    assert!(seen.text.starts_with("HTTP/1.1 413"), "{}", seen.text);
    assert!(seen.text.contains("payload_too_large"), "{}", seen.text);
    let closed = seen.closed_after.expect("the connection stayed open");
    assert!(closed < seconds(1.0), "answered after {closed:?}");
    assert!(s.store_is_empty().await);
}

#[tokio::test]
async fn a_withheld_body_gets_408_at_the_body_timeout() {
    let s = TestServer::start_with(|mut c| {
        c.body_timeout = seconds(1.0);
        c
    })
    .await;
    let head = format!(
        "POST /api/sentinel/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {BILLING}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"agent_id\""
    );
    let seen = talk(s.server.addr(), head.as_bytes(), seconds(10.0)).await;
    assert!(seen.text.starts_with("HTTP/1.1 408"), "{}", seen.text);
    assert!(seen.text.contains("invalid_request"), "{}", seen.text);
    let closed = seen.closed_after.expect("the connection stayed open");
    assert!(
        closed >= seconds(0.9) && closed < seconds(3.0),
        "answered after {closed:?}"
    );
    // A body sent in chunks that never ends is cut off the same way.
    let chunked = format!(
        "POST /api/sentinel/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {BILLING}\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\n{{\"age\r\n"
    );
    let seen = talk(s.server.addr(), chunked.as_bytes(), seconds(10.0)).await;
    assert!(seen.text.starts_with("HTTP/1.1 408"), "{}", seen.text);
    assert!(s.store_is_empty().await);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_then_served_again() {
    let s = TestServer::start_with(|mut c| {
        c.max_connections = 3;
        c.header_timeout = seconds(30.0);
        c
    })
    .await;
    let addr = s.server.addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = talk(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        seconds(5.0),
    )
    .await;
    assert!(
        seen.text.starts_with("HTTP/1.1 503"),
        "beyond the cap: {}",
        seen.text
    );
    assert!(seen.text.contains("too many connections"), "{}", seen.text);
    assert!(seen.closed_after.is_some());

    // Once the held connections go, new ones are served.
    drop(held);
    let started = Instant::now();
    loop {
        let seen = talk(
            addr,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            seconds(5.0),
        )
        .await;
        if seen.text.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            started.elapsed() < seconds(3.0),
            "still refused: {}",
            seen.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
