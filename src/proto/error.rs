//! Error values of the SocketCluster core.
//!
//! Owns the typed errors a call can settle with and the close-code reason table. Server errors
//! stay as the JSON text the server sent (hydrated into `Error` objects at the JS edge).

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;

/// Why a call (emit, publish, authenticate) failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallError {
    /// No answer within `ackTimeout` (`TimeoutError`).
    Timeout {
        /// The event of the call.
        event: String,
    },
    /// The connection was lost or is closed (`BadConnectionError`).
    BadConnection {
        /// `closed`, `disconnect` or `connectAbort`.
        kind: BadConnectionKind,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
        /// The event of the call.
        event: String,
    },
    /// The outbox was full (`OutboxFullError`).
    OutboxFull {
        /// The `outboxLimit`.
        limit: usize,
    },
    /// The server answered with an error: its exact JSON text.
    Server(String),
    /// A call the socket refused (`InvalidArgumentsError`).
    InvalidArguments(String),
}

/// `BadConnectionError.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadConnectionKind {
    /// The socket was closed with no reconnect pending.
    Closed,
    /// The connection was lost after the frame was sent.
    Disconnect,
    /// The connection attempt failed before the handshake completed.
    ConnectAbort,
}

impl BadConnectionKind {
    /// The JS `type` text.
    pub fn as_str(self) -> &'static str {
        match self {
            BadConnectionKind::Closed => "closed",
            BadConnectionKind::Disconnect => "disconnect",
            BadConnectionKind::ConnectAbort => "connectAbort",
        }
    }
}

impl CallError {
    /// The stable JS `name` of the error.
    pub fn name(&self) -> &'static str {
        match self {
            CallError::Timeout { .. } => "TimeoutError",
            CallError::BadConnection { .. } => "BadConnectionError",
            CallError::OutboxFull { .. } => "OutboxFullError",
            CallError::Server(_) => "ServerError",
            CallError::InvalidArguments(_) => "InvalidArgumentsError",
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout { event } => timeout_text(f, event),
            CallError::BadConnection { event, .. } => bad_connection_text(f, event),
            CallError::OutboxFull { limit } => outbox_full_text(f, *limit),
            CallError::Server(text) => write!(f, "Server error: {text}"),
            CallError::InvalidArguments(m) => f.write_str(m),
        }
    }
}

// The messages of the call errors, in sc-errors' (and the JS package's) words: the one copy,
// written by `CallError` and by the Rust API's `sockline::Error`.

/// `TimeoutError`'s message.
pub(crate) fn timeout_text(f: &mut fmt::Formatter<'_>, event: &str) -> fmt::Result {
    write!(f, "Event response for {event} event timed out")
}

/// `BadConnectionError`'s message.
pub(crate) fn bad_connection_text(f: &mut fmt::Formatter<'_>, event: &str) -> fmt::Result {
    write!(f, "Event {event} was aborted due to a bad connection")
}

/// `OutboxFullError`'s message.
pub(crate) fn outbox_full_text(f: &mut fmt::Formatter<'_>, limit: usize) -> fmt::Result {
    write!(
        f,
        "The outbox is full ({limit} calls wait for the connection)"
    )
}

impl core::error::Error for CallError {}

/// The reason text of a close code, as sc-errors words it ("" for a code it has no words for).
pub fn close_reason(code: u16) -> &'static str {
    // (two tables, not a `match`: 21 arms of string constants are ~0.3 KB more wasm)
    const WS: [&str; 12] = [
        "Socket closed normally",
        "Socket was disconnected",
        "A WebSocket protocol error was encountered",
        "Server terminated socket because it received invalid data",
        "",
        "Socket closed without status code",
        "Socket hung up",
        "Message format was incorrect",
        "Encountered a policy violation",
        "Message was too big to process",
        "Client ended the connection because the server did not comply with extension requirements",
        "Server encountered an unexpected fatal condition",
    ];
    const SC: [&str; 10] = [
        "Server ping timed out",
        "Client pong timed out",
        "Server failed to sign auth token",
        "Failed to complete handshake",
        "Client failed to save auth token",
        "Did not receive #handshake from client before timeout",
        "Failed to bind socket to message broker",
        "Client connection establishment timed out",
        "Server rejected handshake from client",
        "Server received a message before the client handshake",
    ];
    let (table, first): (&[&str], u16) = if code >= 4000 {
        (&SC, 4000)
    } else {
        (&WS, 1000)
    };
    code.checked_sub(first)
        .and_then(|i| table.get(i as usize))
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::close_reason;

    #[test]
    fn close_reasons_cover_exactly_the_sc_errors_codes() {
        let known = [
            (1000, "Socket closed normally"),
            (1001, "Socket was disconnected"),
            (1002, "A WebSocket protocol error was encountered"),
            (1003, "Server terminated socket because it received invalid data"),
            (1005, "Socket closed without status code"),
            (1006, "Socket hung up"),
            (1007, "Message format was incorrect"),
            (1008, "Encountered a policy violation"),
            (1009, "Message was too big to process"),
            (1010, "Client ended the connection because the server did not comply with extension requirements"),
            (1011, "Server encountered an unexpected fatal condition"),
            (4000, "Server ping timed out"),
            (4001, "Client pong timed out"),
            (4002, "Server failed to sign auth token"),
            (4003, "Failed to complete handshake"),
            (4004, "Client failed to save auth token"),
            (4005, "Did not receive #handshake from client before timeout"),
            (4006, "Failed to bind socket to message broker"),
            (4007, "Client connection establishment timed out"),
            (4008, "Server rejected handshake from client"),
            (4009, "Server received a message before the client handshake"),
        ];
        for code in 0..=u16::MAX {
            let want = known
                .iter()
                .find(|(c, _)| *c == code)
                .map_or("", |(_, r)| *r);
            assert_eq!(close_reason(code), want, "code {code}");
        }
    }
}
