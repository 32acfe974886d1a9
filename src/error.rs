//! The errors of the Rust API: one [`Error`] for everything a call, a wait or a stream can fail
//! with, and [`ConfigError`] for options [`Socket::new`](crate::Socket::new) and
//! [`EventStream::new`](crate::EventStream::new) refuse.
//!
//! Variants carry the same names and fields as the JS package's errors (`TimeoutError`,
//! `BadConnectionError` with `type`/`code`/`reason`, `OutboxFullError`, `InvalidArgumentsError`,
//! server errors with their own `name`, `message` and other fields, `SocketProtocolError`,
//! `AuthTokenInvalidError`, `StorageError`, `EventStreamError`), so a Rust app and a JS app
//! handle the same cases.
//!
//! This module is the one place where the cores' error values become an [`Error`]: the `From`
//! conversions of [`CallError`] (a call), [`SessionError`] (the socket's `error` event) and
//! [`StreamError`] (an `EventStream`), and [`Error::from_server_json`] (a server's error JSON).
//! The messages of the call errors are the core's ([`crate::proto::error`]), written once. The
//! JS adapter never uses this module: it builds its `Error` objects from the core's values
//! directly, so none of this reaches the npm package.

use std::fmt;

use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::proto::error::{bad_connection_text, outbox_full_text, timeout_text};
use crate::proto::{BadConnectionKind, CallError, SessionError};
#[cfg(feature = "sse")]
use crate::stream::{ErrorKind, StreamError};

/// Everything the Rust API can fail with.
///
/// [`Error::name`] is the `name` the JS package gives the same error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// `TimeoutError`: no answer within `ackTimeout`, or a state that did not come within its
    /// bound ([`Socket::connected`](crate::Socket::connected) and friends). `event` names
    /// the call or the state waited for.
    Timeout {
        /// The event of the call (`echo`, `#publish`, …) or the state (`connect`, …).
        event: String,
    },
    /// `BadConnectionError`: the connection was lost or the socket is closed.
    BadConnection {
        /// `closed`, `disconnect` or `connectAbort` (JS `type`).
        kind: BadConnectionKind,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
        /// The event of the call that was aborted.
        event: String,
    },
    /// `OutboxFullError`: `outboxLimit` calls already wait for the connection (a call fails
    /// with it; a dropped transmit is reported with it as a [`SocketEvent::Error`]).
    ///
    /// [`SocketEvent::Error`]: crate::SocketEvent::Error
    OutboxFull {
        /// The `outboxLimit`.
        limit: usize,
    },
    /// `InvalidArgumentsError`: a call the socket refused (for example a payload serde could
    /// not turn into a JS value).
    InvalidArguments {
        /// What was wrong.
        message: String,
    },
    /// An error the server answered with (a procedure's error, a refused subscription, a
    /// rejected auth token).
    Server {
        /// Its `name` (`Error` when the server sent none, or sent a plain value).
        name: String,
        /// Its `message` (the value itself when the server sent a string).
        message: String,
        /// The JSON text of an object with every other field it carried (`{}` when none; a
        /// non-object error is `{"value": …}`).
        fields: String,
    },
    /// `SocketProtocolError` (a [`SocketEvent::Error`]): the connection closed with a code other
    /// than 1000/1001.
    ///
    /// [`SocketEvent::Error`]: crate::SocketEvent::Error
    SocketProtocol {
        /// The close code.
        code: u16,
        /// The close reason, or sc-errors' text for the code.
        message: String,
    },
    /// `AuthTokenInvalidError` (a [`SocketEvent::Error`]): the stored or issued auth token
    /// cannot be decoded.
    ///
    /// [`SocketEvent::Error`]: crate::SocketEvent::Error
    AuthTokenInvalid {
        /// What is wrong with it.
        message: String,
    },
    /// `StorageError` (a [`SocketEvent::Error`]): web storage failed; the token is kept in
    /// memory meanwhile.
    ///
    /// [`SocketEvent::Error`]: crate::SocketEvent::Error
    Storage {
        /// The storage's message.
        message: String,
    },
    /// `EventStreamError`: an `EventStream` could not connect or dropped an event (feature
    /// `sse`).
    #[cfg(feature = "sse")]
    EventStream {
        /// What went wrong (JS `type`).
        kind: ErrorKind,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// A description.
        message: String,
    },
    /// A payload that does not fit the Rust type it was read as (serde).
    Payload {
        /// The deserializer's message.
        message: String,
    },
    /// An option or URL that was refused.
    Config(ConfigError),
}

impl Error {
    /// The JS name of the error (`TimeoutError`, `BadConnectionError`, …; a server error's own
    /// name; `PayloadError` for a payload of the wrong shape).
    pub fn name(&self) -> &str {
        match self {
            Error::Timeout { .. } => "TimeoutError",
            Error::BadConnection { .. } => "BadConnectionError",
            Error::OutboxFull { .. } => "OutboxFullError",
            Error::InvalidArguments { .. } | Error::Config(_) => "InvalidArgumentsError",
            Error::Server { name, .. } => name,
            Error::SocketProtocol { .. } => "SocketProtocolError",
            Error::AuthTokenInvalid { .. } => "AuthTokenInvalidError",
            Error::Storage { .. } => "StorageError",
            #[cfg(feature = "sse")]
            Error::EventStream { .. } => "EventStreamError",
            Error::Payload { .. } => "PayloadError",
        }
    }

    /// A server error from the JSON text the server sent (as the JS package hydrates it).
    pub fn from_server_json(text: &str) -> Error {
        // Plain matches, no `Result`/`Option` helpers over JS values: sharing those generic
        // helpers with the JS adapter changes how its code inlines (and grows the npm wasm).
        let v = match JSON::parse(text) {
            Ok(v) => v,
            Err(_) => JsValue::from_str(text),
        };
        let rest = Object::new();
        let (name, message) = if v.is_object() && !js_sys::Array::is_array(&v) {
            let name = match field_text(&v, "name") {
                Some(n) => n,
                None => "Error".to_string(),
            };
            let message = match field_text(&v, "message") {
                Some(m) => m,
                None => "Invalid error message format".to_string(),
            };
            for k in Object::keys(v.unchecked_ref::<Object>()).iter() {
                let skip = match k.as_string() {
                    Some(k) => k == "name" || k == "message" || k == "stack",
                    None => false,
                };
                if !skip {
                    if let Ok(x) = Reflect::get(&v, &k) {
                        let _ = Reflect::set(&rest, &k, &x);
                    }
                }
            }
            (name, message)
        } else {
            let message = match v.as_string() {
                Some(m) => m,
                None => stringify(&v),
            };
            let _ = Reflect::set(&rest, &JsValue::from_str("value"), &v);
            ("Error".to_string(), message)
        };
        Error::Server {
            name,
            message,
            fields: stringify(&rest),
        }
    }

    /// The JSON text a server-invoked procedure is answered with for this error, as the JS
    /// package's `dehydrate` writes an `Error`: `{name, message, …}` with the fields the JS
    /// error carries (a server error's own fields; `type`, `code` and `reason` of a
    /// `BadConnectionError`; `limit`; …).
    pub(crate) fn to_server_json(&self) -> String {
        let o = Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), v);
        };
        set("name", &JsValue::from_str(self.name()));
        set("message", &JsValue::from_str(&self.to_string()));
        match self {
            Error::Server { fields, .. } => {
                if let Ok(v) = JSON::parse(fields) {
                    if v.is_object() && !js_sys::Array::is_array(&v) {
                        for k in Object::keys(v.unchecked_ref::<Object>()).iter() {
                            let own = k.as_string().is_some_and(|k| k == "name" || k == "message");
                            if !own {
                                if let Ok(x) = Reflect::get(&v, &k) {
                                    let _ = Reflect::set(&o, &k, &x);
                                }
                            }
                        }
                    }
                }
            }
            Error::BadConnection {
                kind, code, reason, ..
            } => {
                set("type", &JsValue::from_str(kind.as_str()));
                set("code", &JsValue::from(*code));
                set("reason", &JsValue::from_str(reason));
            }
            Error::OutboxFull { limit } => set("limit", &JsValue::from(*limit as f64)),
            Error::SocketProtocol { code, .. } => set("code", &JsValue::from(*code)),
            #[cfg(feature = "sse")]
            Error::EventStream { kind, status, .. } => {
                set("type", &JsValue::from_str(kind.as_str()));
                if let Some(s) = status {
                    set("status", &JsValue::from(*s));
                }
            }
            _ => {}
        }
        stringify(&o)
    }

    /// `BadConnectionError` of kind `closed` (code 1000) for `event` on a socket that is gone
    /// or closed for good.
    pub(crate) fn closed(event: &str, code: u16, reason: &str) -> Error {
        Error::BadConnection {
            kind: BadConnectionKind::Closed,
            code,
            reason: reason.to_string(),
            event: event.to_string(),
        }
    }
}

/// `v[key]` when it is a string.
fn field_text(v: &JsValue, key: &str) -> Option<String> {
    match Reflect::get(v, &JsValue::from_str(key)) {
        Ok(x) => x.as_string(),
        Err(_) => None,
    }
}

fn stringify(v: &JsValue) -> String {
    match JSON::stringify(v) {
        Ok(s) => match s.as_string() {
            Some(s) => s,
            None => "null".to_string(),
        },
        Err(_) => "null".to_string(),
    }
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        match e {
            CallError::Timeout { event } => Error::Timeout { event },
            CallError::BadConnection {
                kind,
                code,
                reason,
                event,
            } => Error::BadConnection {
                kind,
                code,
                reason,
                event,
            },
            CallError::OutboxFull { limit } => Error::OutboxFull { limit },
            CallError::Server(text) => Error::from_server_json(&text),
            CallError::InvalidArguments(message) => Error::InvalidArguments { message },
        }
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Error {
        match e {
            SessionError::Protocol { code, message } => Error::SocketProtocol { code, message },
            SessionError::Handshake(text) => Error::from_server_json(&text),
            SessionError::BadAuthToken(why) => Error::AuthTokenInvalid {
                message: format!("Cannot read the auth token: {why}"),
            },
            SessionError::OutboxFull { limit } => Error::OutboxFull { limit },
            SessionError::Storage(message) => Error::Storage { message },
        }
    }
}

#[cfg(feature = "sse")]
impl From<StreamError> for Error {
    fn from(e: StreamError) -> Error {
        Error::EventStream {
            kind: e.kind,
            status: e.status,
            message: e.message,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Timeout { event } => timeout_text(f, event),
            Error::BadConnection { event, .. } => bad_connection_text(f, event),
            Error::OutboxFull { limit } => outbox_full_text(f, *limit),
            Error::InvalidArguments { message }
            | Error::Payload { message }
            | Error::Server { message, .. }
            | Error::SocketProtocol { message, .. }
            | Error::AuthTokenInvalid { message }
            | Error::Storage { message } => f.write_str(message),
            #[cfg(feature = "sse")]
            Error::EventStream { message, .. } => f.write_str(message),
            Error::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config(e) => Some(e),
            _ => None,
        }
    }
}

/// An option or URL that [`Socket::new`](crate::Socket::new) or
/// [`EventStream::new`](crate::EventStream::new) refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The option, in the JS package's spelling (`url`, `autoReconnectOptions.maxDelay`,
    /// `lastEventIdParam`, …).
    pub option: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
