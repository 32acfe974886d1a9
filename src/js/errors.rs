//! JS `Error` objects with stable names (`TimeoutError`, `BadConnectionError`, …), server error
//! hydration and dehydration, and the mapping from the core's error values.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::proto::{CallError, SessionError};

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// `new Error(message)` with `name` set and `fields` (an object or undefined) copied in.
    #[wasm_bindgen(js_name = makeError)]
    fn make_error_js(name: &str, message: &str, fields: &JsValue) -> js_sys::Error;

    /// Server error JSON text → `Error` with every field preserved.
    #[wasm_bindgen(js_name = hydrateError)]
    pub fn hydrate_error(text: &str) -> js_sys::Error;

    /// Any value → the JSON text sent as a response's `error`.
    #[wasm_bindgen(js_name = dehydrate)]
    pub fn dehydrate(err: &JsValue) -> String;
}

/// An `Error` whose `name` is `name`.
pub fn make_error(name: &str, message: &str) -> js_sys::Error {
    make_error_js(name, message, &JsValue::UNDEFINED)
}

/// Sets one own field on an error (or any object).
pub fn set_field(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// `InvalidArgumentsError` naming what was wrong.
pub fn invalid_arguments(message: &str) -> JsValue {
    make_error("InvalidArgumentsError", message).into()
}

/// A plain object from key/value pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// The JS error a call rejects with.
pub fn call_error(e: &CallError) -> JsValue {
    let msg = e.to_string();
    match e {
        CallError::Server(text) => hydrate_error(text).into(),
        CallError::BadConnection {
            kind, code, reason, ..
        } => {
            let err = make_error("BadConnectionError", &msg);
            set_field(&err, "type", &JsValue::from_str(kind.as_str()));
            set_field(&err, "code", &JsValue::from(*code));
            set_field(&err, "reason", &JsValue::from_str(reason));
            err.into()
        }
        CallError::OutboxFull { limit } => {
            let err = make_error("OutboxFullError", &msg);
            set_field(&err, "limit", &JsValue::from(*limit as u32));
            err.into()
        }
        other => make_error(other.name(), &msg).into(),
    }
}

/// The JS error of an `error` event.
pub fn session_error(e: &SessionError) -> JsValue {
    match e {
        SessionError::Protocol { code, message } => {
            let err = make_error("SocketProtocolError", message);
            set_field(&err, "code", &JsValue::from(*code));
            err.into()
        }
        SessionError::Handshake(text) => hydrate_error(text).into(),
        SessionError::BadAuthToken(why) => make_error(
            "AuthTokenInvalidError",
            &format!("Cannot read the auth token: {why}"),
        )
        .into(),
        SessionError::OutboxFull { limit } => {
            let err = make_error(
                "OutboxFullError",
                &format!("A transmit was dropped: the outbox is full ({limit})"),
            );
            set_field(&err, "limit", &JsValue::from(*limit as u32));
            err.into()
        }
    }
}
