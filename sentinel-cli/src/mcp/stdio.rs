//! The proxy's two stdio links, newline-delimited JSON-RPC messages (MCP's stdio
//! transport): the client on our stdin/stdout, the upstream server a child process on its
//! stdin/stdout. Blocking reads and writes run on threads of their own and meet the proxy's
//! event loop through channels, so a slow peer never blocks a decision.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use tokio::sync::mpsc::UnboundedSender;

/// What the event loop hears.
#[derive(Debug)]
pub(crate) enum Event {
    /// One message from the client (the line, without its newline).
    Client(Vec<u8>),
    /// The client closed our stdin.
    ClientClosed,
    /// One message from the upstream server.
    Upstream(Vec<u8>),
    /// The upstream server closed its stdout (it exited).
    UpstreamClosed,
}

/// Where messages to one peer are written, one per line; cheap to clone. Dropping every
/// clone closes the stream (the upstream server then sees the end of its input).
#[derive(Clone)]
pub(crate) struct Outbox(mpsc::Sender<Vec<u8>>);

impl Outbox {
    /// Queues one message. A peer that went away is not an error here: the event loop
    /// learns of it from the read side.
    pub(crate) fn send(&self, message: Vec<u8>) {
        let _ = self.0.send(message);
    }

    /// Queues one JSON message.
    pub(crate) fn send_json(&self, message: &serde_json::Value) {
        self.send(message.to_string().into_bytes());
    }

    /// An outbox writing to `sink` on a thread of its own.
    fn spawn(mut sink: impl Write + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for mut message in rx {
                message.push(b'\n');
                if sink
                    .write_all(&message)
                    .and_then(|()| sink.flush())
                    .is_err()
                {
                    return;
                }
            }
        });
        Self(tx)
    }
}

/// Reads `source` line by line on a thread of its own, sending `line(..)` per message and
/// `end` at the end (or on a read error).
fn read_lines(
    source: impl Read + Send + 'static,
    events: UnboundedSender<Event>,
    line: fn(Vec<u8>) -> Event,
    end: Event,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        loop {
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if events.send(line(buf)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = events.send(end);
    });
}

/// The client: our stdin feeds `events`; the outbox writes our stdout.
pub(crate) fn client(events: UnboundedSender<Event>) -> Outbox {
    read_lines(std::io::stdin(), events, Event::Client, Event::ClientClosed);
    Outbox::spawn(std::io::stdout())
}

/// The upstream server, started from `command` (program and arguments) with its stderr on
/// ours: its stdout feeds `events`; the outbox writes its stdin.
pub(crate) fn upstream(
    command: &[String],
    events: UnboundedSender<Event>,
) -> Result<(Child, Outbox), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("no upstream server command given (after `--`)".to_owned());
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the upstream server `{program}`: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err(format!("cannot talk to the upstream server `{program}`"));
    };
    read_lines(stdout, events, Event::Upstream, Event::UpstreamClosed);
    Ok((child, Outbox::spawn(stdin)))
}
