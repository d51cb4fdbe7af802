//! JSON-RPC over a byte stream, one message per line (MCP's stdio transport), as an rmcp
//! [`Transport`], with the bounds rmcp's own `AsyncRwTransport` does not have:
//!
//! - **Backpressure.** At most [`MAX_CALLS`] `tools/call` and [`MAX_OTHER`] other requests are in
//!   flight (read, not yet answered), and their lines take at most [`REQUEST_BUDGET`] bytes. A
//!   slot frees only once its answer has been written, so when the client stops reading stdout,
//!   this process stops reading stdin (beyond [`READ_AHEAD`] bytes, read only to notice that
//!   stdin closed) and its memory stays flat.
//! - **Answers held.** The answer budget a request's answers took ([`AnswerHolds`], see
//!   [`crate::api::budget`]) is given back once its answer is written.
//! - **One line.** At most [`MAX_LINE_BYTES`] (longer lines are dropped unread, as rmcp does),
//!   [`MAX_REQUEST_VALUES`] JSON values and [`shape::MAX_DEPTH`] levels, counted before parsing.
//! - **Errors with ids.** A line that cannot be parsed (a lone surrogate, `1e309`, `NaN`, too
//!   deep, too many values) or is not a valid message, but whose `id` can be read, gets a
//!   JSON-RPC error with that id. Unparsable input without one is ignored (answering it could
//!   start an error storm with a peer that echoes); valid JSON that is no message gets an error
//!   without an id. A request whose id is already in flight is refused, and only the first runs.
//! - **Stdout gone.** After the first failed write (`EPIPE`), nothing more is read or dispatched,
//!   and [`Signals::stdout_closed`] lets the server exit at once.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::{RoleServer, ServiceExt};

use crate::server::OpenTrain;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, ErrorData, GetExtensions,
    JsonRpcMessage, RequestId, ServerJsonRpcMessage,
};
use rmcp::transport::Transport;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::api::budget::{self, AnswerHolds};
use crate::shape;

/// `tools/call` requests in flight at most.
pub const MAX_CALLS: usize = 64;
/// Other requests in flight at most (`ping`, lists, reads; and this transport's own error replies).
pub const MAX_OTHER: usize = 16;
/// Bytes of request lines in flight at most (estimated with their parsed size).
pub const REQUEST_BUDGET: usize = 64 * 1024 * 1024;
/// The longest line read (the same as rmcp's default).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// The most JSON values one request may have (a tool's arguments have a few dozen).
pub const MAX_REQUEST_VALUES: usize = 20_000;
/// Bytes read ahead while every slot is taken, only to notice that stdin closed.
pub const READ_AHEAD: usize = 1024 * 1024;

/// The request budget is counted in KiB.
const UNIT: usize = 1024;

type Rx = ClientJsonRpcMessage;
type Tx = ServerJsonRpcMessage;

/// Two one-way events the server waits for: stdin ended, stdout failed.
#[derive(Debug, Default)]
pub struct Signals {
    eof: Flag,
    closed: Flag,
}

#[derive(Debug, Default)]
struct Flag {
    set: AtomicBool,
    notify: Notify,
}

impl Flag {
    fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}

impl Signals {
    /// Resolves once stdin has ended (or failed).
    pub async fn stdin_closed(&self) {
        self.eof.wait().await
    }

    /// Resolves once a write to stdout has failed: nobody can receive an answer any more.
    pub async fn stdout_closed(&self) {
        self.closed.wait().await
    }

    pub fn is_stdout_closed(&self) -> bool {
        self.closed.is_set()
    }
}

/// What a request in flight holds until its answer is written.
struct InFlight {
    _slot: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
    holds: AnswerHolds,
}

struct Shared {
    signals: Arc<Signals>,
    in_flight: Mutex<HashMap<RequestId, InFlight>>,
    calls: Arc<Semaphore>,
    other: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

impl Shared {
    /// The request `id` is answered (or cancelled): its slot, bytes and answer budget go back.
    fn finish(&self, id: &RequestId) {
        let done = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(done) = done {
            done.holds.release();
        }
    }

    fn is_in_flight(&self, id: &RequestId) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }
}

/// Which pool a message waits in, and how many budget units it takes.
#[derive(Clone, Copy)]
struct Need {
    call: bool,
    units: u32,
}

/// A message read but not yet handed on.
enum Pending {
    /// A request, waiting for room.
    Request(Box<Rx>, RequestId, Need),
    /// A notification or a response: handed on at once.
    Free(Box<Rx>),
    /// An error this transport answers itself, waiting for room.
    Reply(Box<Tx>),
}

impl Pending {
    fn need(&self) -> Need {
        match self {
            Pending::Request(_, _, need) => *need,
            Pending::Free(_) | Pending::Reply(_) => Need {
                call: false,
                units: 1,
            },
        }
    }
}

type Writer<W> = Arc<tokio::sync::Mutex<Option<W>>>;

/// The transport. `R` is stdin, `W` stdout (or any byte stream pair).
pub struct LineTransport<R, W> {
    reader: R,
    /// Bytes read: `buf[start..]` is not consumed yet; `buf[start..scanned]` has no newline.
    buf: Vec<u8>,
    start: usize,
    scanned: usize,
    /// Inside a line over [`MAX_LINE_BYTES`], which is being dropped.
    discarding: bool,
    eof: bool,
    pending: Option<Pending>,
    shared: Arc<Shared>,
    writer: Writer<W>,
}

impl<R, W> LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    pub fn new(reader: R, writer: W) -> LineTransport<R, W> {
        LineTransport {
            reader,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            discarding: false,
            eof: false,
            pending: None,
            shared: Arc::new(Shared {
                signals: Arc::default(),
                in_flight: Mutex::default(),
                calls: Arc::new(Semaphore::new(MAX_CALLS)),
                other: Arc::new(Semaphore::new(MAX_OTHER)),
                bytes: Arc::new(Semaphore::new(REQUEST_BUDGET / UNIT)),
            }),
            writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
        }
    }

    /// The events the server waits for.
    pub fn signals(&self) -> Arc<Signals> {
        self.shared.signals.clone()
    }

    /// The next complete line (`buf[range]`), or `None` at the end of the input.
    async fn next_line(&mut self) -> Option<(usize, usize)> {
        loop {
            if let Some(at) = self.buf[self.scanned..].iter().position(|b| *b == b'\n') {
                let end = self.scanned + at;
                let line = (self.start, end);
                self.start = end + 1;
                self.scanned = self.start;
                if self.discarding {
                    self.discarding = false;
                    continue;
                }
                return Some(line);
            }
            self.scanned = self.buf.len();
            if !self.discarding && self.buf.len() - self.start > MAX_LINE_BYTES {
                tracing::error!(
                    max_line_length = MAX_LINE_BYTES,
                    "Incoming message exceeded the maximum line length, discarding it"
                );
                self.discarding = true;
            }
            if self.discarding {
                self.buf.truncate(self.start);
                self.scanned = self.start;
            }
            if self.eof {
                // A last line without its newline is incomplete: nothing to deliver.
                return None;
            }
            self.fill().await;
        }
    }

    /// Reads more input into the buffer (making room first); notes the end of the input.
    async fn fill(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
            // Give back the memory of a huge line once it is gone.
            if self.buf.capacity() > 4 * READ_AHEAD {
                self.buf.shrink_to(64 * 1024);
            }
        } else if self.start > READ_AHEAD {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        read_more(
            &mut self.reader,
            &mut self.buf,
            &mut self.eof,
            &self.shared.signals,
        )
        .await;
    }

    /// Takes the room `need` asks for; while waiting, reads ahead a little to notice the end of
    /// the input. `None` when stdout has closed.
    async fn room(&mut self, need: Need) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let pool = if need.call {
            self.shared.calls.clone()
        } else {
            self.shared.other.clone()
        };
        let bytes = self.shared.bytes.clone();
        let acquire = async move {
            let slot = pool.acquire_owned().await.ok()?;
            let units = bytes.acquire_many_owned(need.units).await.ok()?;
            Some((slot, units))
        };
        tokio::pin!(acquire);
        loop {
            let can_read = !self.eof && self.buf.len() - self.start < READ_AHEAD;
            tokio::select! {
                biased;
                () = self.shared.signals.stdout_closed() => return None,
                room = &mut acquire => return room,
                () = read_more(&mut self.reader, &mut self.buf, &mut self.eof, &self.shared.signals), if can_read => {}
            }
        }
    }
}

/// One read into `buf`'s spare room; sets `eof` (and the signal) at the end of the input.
async fn read_more<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    eof: &mut bool,
    signals: &Signals,
) {
    if buf.capacity() - buf.len() < 16 * 1024 {
        buf.reserve(64 * 1024);
    }
    match reader.read_buf(buf).await {
        Ok(0) => {
            *eof = true;
            signals.eof.set();
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!("Error reading from stream: {e}");
            *eof = true;
            signals.eof.set();
        }
    }
}

/// Writes one message and its newline; after a failed write the writer is gone for good.
async fn write_message<W: AsyncWrite + Unpin>(
    writer: &tokio::sync::Mutex<Option<W>>,
    signals: &Signals,
    message: &Tx,
) -> io::Result<()> {
    let mut guard = writer.lock().await;
    let Some(out) = guard.as_mut() else {
        return Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "stdout is closed",
        ));
    };
    // Serialized under the lock: one answer's text exists at a time.
    let mut bytes = serde_json::to_vec(message).map_err(io::Error::other)?;
    bytes.push(b'\n');
    let written = match out.write_all(&bytes).await {
        Ok(()) => out.flush().await,
        Err(e) => Err(e),
    };
    if let Err(e) = &written {
        tracing::debug!("writing to stdout failed ({e}); nothing more will be read or run");
        *guard = None;
        signals.closed.set();
    }
    written
}

/// The id of an answer.
fn answered_id(message: &Tx) -> Option<RequestId> {
    match message {
        JsonRpcMessage::Response(r) => Some(r.id.clone()),
        JsonRpcMessage::Error(e) => e.id.clone(),
        _ => None,
    }
}

/// What one line is: a message to hand on, an error to answer, or nothing.
fn decode(line: &[u8]) -> Option<Pending> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let values = match shape::measure(line, MAX_REQUEST_VALUES, shape::MAX_DEPTH) {
        Ok(values) => values,
        Err(too_big) => {
            tracing::debug!("refusing an incoming message with {too_big}");
            let id = readable_id(line)?;
            return Some(reply(
                ErrorData::invalid_request(
                    format!("Invalid Request: the message has {too_big}"),
                    None,
                ),
                Some(id),
            ));
        }
    };
    match serde_json::from_slice::<Rx>(line) {
        Ok(JsonRpcMessage::Request(request)) => {
            let id = request.id.clone();
            let call = matches!(request.request, ClientRequest::CallToolRequest(_));
            let units = budget::estimate(line.len(), values).div_ceil(UNIT).max(1);
            let units = units.min(REQUEST_BUDGET / UNIT) as u32;
            Some(Pending::Request(
                Box::new(JsonRpcMessage::Request(request)),
                id,
                Need { call, units },
            ))
        }
        Ok(other) => Some(Pending::Free(Box::new(other))),
        Err(e) => {
            use serde_json::error::Category;
            match e.classify() {
                Category::Syntax | Category::Eof => {
                    tracing::debug!("Ignoring unparsable incoming message: {e}");
                    let id = readable_id(line)?;
                    // A syntax error names a position, never the input itself.
                    Some(reply(
                        ErrorData::parse_error(format!("Parse error: {e}"), None),
                        Some(id),
                    ))
                }
                Category::Data | Category::Io => {
                    tracing::debug!("Protocol error on incoming message: {e}");
                    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
                    // A notification is never answered, however malformed.
                    if value.get("method").is_some() && value.get("id").is_none() {
                        return None;
                    }
                    Some(reply(
                        ErrorData::invalid_request(
                            "Invalid Request: not a JSON-RPC 2.0 message this server accepts",
                            None,
                        ),
                        readable_id(line),
                    ))
                }
            }
        }
    }
}

fn reply(error: ErrorData, id: Option<RequestId>) -> Pending {
    Pending::Reply(Box::new(JsonRpcMessage::error(error, id)))
}

/// The `id` of a line that is one JSON object by its structure, when it is an integer or a
/// string, read without parsing the rest (which may be what cannot be parsed). `None` for
/// anything else, including a line cut short.
pub fn readable_id(line: &[u8]) -> Option<RequestId> {
    let mut scan = Scan { bytes: line, at: 0 };
    scan.ws();
    scan.eat(b'{')?;
    let mut id = None;
    scan.ws();
    if scan.peek() == Some(b'}') {
        scan.at += 1;
    } else {
        loop {
            scan.ws();
            let key = scan.string()?;
            scan.ws();
            scan.eat(b':')?;
            scan.ws();
            let value = scan.value()?;
            // The last one counts, as it does for a JSON parser.
            if serde_json::from_slice::<String>(key).ok().as_deref() == Some("id") {
                id = Some(value);
            }
            scan.ws();
            match scan.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    scan.ws();
    if scan.at != line.len() {
        return None;
    }
    let value = id?;
    if value.first() == Some(&b'"') {
        return serde_json::from_slice::<String>(value)
            .ok()
            .map(|s| RequestId::String(s.into()));
    }
    std::str::from_utf8(value)
        .ok()?
        .parse::<i64>()
        .ok()
        .map(RequestId::Number)
}

/// A cursor over a line for [`readable_id`]: structure only, no recursion.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// A string, quotes included.
    fn string(&mut self) -> Option<&'a [u8]> {
        let from = self.at;
        self.eat(b'"')?;
        loop {
            match self.next()? {
                b'\\' => {
                    self.next()?;
                }
                b'"' => return Some(&self.bytes[from..self.at]),
                _ => {}
            }
        }
    }

    /// One value: a string, an object or array (skipped by counting brackets), or a bare token.
    fn value(&mut self) -> Option<&'a [u8]> {
        let from = self.at;
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == from {
                    return None;
                }
            }
        }
        Some(&self.bytes[from..self.at])
    }
}

impl<R, W> Transport<RoleServer> for LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = io::Error;

    fn send(&mut self, item: Tx) -> impl Future<Output = Result<(), io::Error>> + Send + 'static {
        let writer = self.writer.clone();
        let shared = self.shared.clone();
        async move {
            let id = answered_id(&item);
            let written = write_message(&writer, &shared.signals, &item).await;
            drop(item);
            // Written or not, the request is done: its room goes back.
            if let Some(id) = id {
                shared.finish(&id);
            }
            written
        }
    }

    async fn receive(&mut self) -> Option<Rx> {
        loop {
            if self.shared.signals.is_stdout_closed() {
                return None;
            }
            if self.pending.is_none() {
                let (from, to) = self.next_line().await?;
                self.pending = decode(&self.buf[from..to]);
                continue;
            }
            if let Some(Pending::Free(_)) = &self.pending {
                if let Some(Pending::Free(message)) = self.pending.take() {
                    self.note_cancel(&message);
                    return Some(*message);
                }
                continue;
            }
            // A request whose id is in flight is refused; the first one runs.
            if let Some(Pending::Request(_, id, _)) = &self.pending
                && self.shared.is_in_flight(id)
            {
                tracing::debug!(%id, "refusing a request whose id is already in flight");
                let error = ErrorData::invalid_request(
                    format!(
                        "Invalid Request: a request with id {id} is still in flight; ids must be unique"
                    ),
                    None,
                );
                self.pending = Some(reply(error, Some(id.clone())));
            }
            let need = match &self.pending {
                Some(pending) => pending.need(),
                None => continue,
            };
            let (slot, bytes) = self.room(need).await?;
            match self.pending.take() {
                Some(Pending::Request(mut message, id, _)) => {
                    let holds = AnswerHolds::default();
                    if let JsonRpcMessage::Request(request) = message.as_mut() {
                        request.request.extensions_mut().insert(holds.clone());
                    }
                    let in_flight = InFlight {
                        _slot: slot,
                        _bytes: bytes,
                        holds,
                    };
                    self.shared
                        .in_flight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id, in_flight);
                    return Some(*message);
                }
                Some(Pending::Free(message)) => return Some(*message),
                Some(Pending::Reply(error)) => {
                    // Written by a task of its own: a write cut off halfway would corrupt
                    // the stream. It holds its slot until written.
                    let writer = self.writer.clone();
                    let shared = self.shared.clone();
                    tokio::spawn(async move {
                        let _ = write_message(&writer, &shared.signals, &error).await;
                        drop((slot, bytes));
                    });
                }
                None => {}
            }
        }
    }

    async fn close(&mut self) -> Result<(), io::Error> {
        if let Some(mut out) = self.writer.lock().await.take() {
            let _ = out.flush().await;
        }
        Ok(())
    }
}

impl<R, W> LineTransport<R, W> {
    /// A cancelled request's room goes back now: the server stops its work at once.
    fn note_cancel(&self, message: &Rx) {
        if let JsonRpcMessage::Notification(n) = message
            && let ClientNotification::CancelledNotification(cancelled) = &n.notification
            && let Some(id) = &cancelled.params.request_id
        {
            self.shared.finish(id);
        }
    }
}

/// How long in-flight calls may finish after stdin closes before the process exits.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// Serves MCP over the process's stdin/stdout until stdin closes. Calls still in flight then get
/// a short grace period, and the function returns: an agent closing the pipe means it is gone.
/// Once stdout fails (the client is gone), it returns at once: nothing more is read or run.
pub async fn serve_stdio(server: OpenTrain) -> Result<(), String> {
    // Declared first so it is dropped last, after the transport.
    #[cfg(unix)]
    let (stdin, stdout, _restore) = super::pipes::open();
    // Elsewhere tokio's own handles (reads and writes on its blocking pool).
    #[cfg(not(unix))]
    let (stdin, stdout) = (tokio::io::stdin(), tokio::io::stdout());
    let transport = LineTransport::new(stdin, stdout);
    let signals = transport.signals();
    let running = tokio::select! {
        running = server.serve(transport) => match running {
            Ok(running) => running,
            // stdin closed before `initialize`: a clean end, not a failure.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) if signals.is_stdout_closed() => {
                tracing::debug!("stdout closed during initialization: {e}");
                return Ok(());
            }
            Err(e) => return Err(format!("MCP initialization failed: {e}")),
        },
        () = signals.stdout_closed() => return Ok(()),
    };
    tokio::select! {
        quit = running.waiting() => {
            tracing::debug!("server stopped: {quit:?}");
        }
        () = async {
            signals.stdin_closed().await;
            tokio::time::sleep(EXIT_GRACE).await;
        } => {
            tracing::debug!("stdin closed; exiting with calls possibly still in flight");
        }
        () = signals.stdout_closed() => {
            tracing::info!("stdout is closed (the client is gone); exiting without running anything more");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_lines_that_do_not_parse() {
        let id = |s: &str| readable_id(s.as_bytes());
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"method":"x","params":{"a":"\ud800"}}"#),
            Some(RequestId::Number(7))
        );
        assert_eq!(
            id(r#"{"params":{"n":1e309},"id":"a\"b","method":"x"}"#),
            Some(RequestId::String("a\"b".into()))
        );
        assert_eq!(
            id(r#" {"id": -3, "params": [NaN, {"x": [[]]}]} "#),
            Some(RequestId::Number(-3))
        );
        let deep = format!(
            r#"{{"id":9,"p":{}1{}}}"#,
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert_eq!(id(&deep), Some(RequestId::Number(9)));
        // No id, an id that is no id, or a line that is not one whole object.
        for line in [
            r#"{"jsonrpc":"2.0","method":"x"}"#,
            r#"{"id":1.5}"#,
            r#"{"id":null}"#,
            r#"{"id":{"a":1}}"#,
            r#"{"id":"\ud800"}"#,
            r#"{"jsonrpc":"2.0","id":9"#,
            r#"{"id":9} x"#,
            r#"[{"id":9}]"#,
            "not json",
            "",
        ] {
            assert_eq!(id(line), None, "{line}");
        }
    }
}
