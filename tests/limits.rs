//! Browser tests of the resource limits against the real fixtures: the inbound frame cap
//! (`maxPayload`) and token storage at the quota. The wasm memory a large accepted frame takes
//! is measured in `tests/wasm_memory.rs`, alone in its own module instance.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::frames::*;
use common::*;
use js_sys::Array;
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---- helpers -------------------------------------------------------------------------------

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e9).floor() as u64)
}

/// Records the first argument of every `name` event of `s`.
fn record(s: &JsSocket, name: &str) -> Rc<RefCell<Vec<Array>>> {
    let (f, calls) = recorder();
    s.on(name.into(), f.into()).unwrap();
    calls
}

/// Waits (after `n` earlier errors) for a 1009 close reported as `SocketProtocolError`, then for the reconnect (the channel
/// is subscribed again).
async fn expect_1009_then_reconnect(
    s: &JsSocket,
    ch: &JsValue,
    n: usize,
    errors: &Rc<RefCell<Vec<Array>>>,
    disconnects: &Rc<RefCell<Vec<Array>>>,
    reconnecting: &Rc<RefCell<Vec<Array>>>,
) {
    assert!(
        until(10_000, || errors.borrow().len() > n).await,
        "an error event for the over-cap frame"
    );
    let err = errors.borrow()[n].get(0);
    assert_eq!(error_name(&err), "SocketProtocolError", "{}", json(&err));
    assert_eq!(get(&err, "code").as_f64(), Some(1009.0));
    assert!(err.is_instance_of::<js_sys::Error>());
    let d = disconnects
        .borrow()
        .last()
        .map(|a| a.get(0))
        .expect("disconnect");
    assert_eq!(get(&d, "code").as_f64(), Some(1009.0), "{}", json(&d));
    let r = reconnecting
        .borrow()
        .last()
        .map(|a| a.get(0))
        .expect("reconnecting");
    assert!(
        get(&r, "delay").as_f64().unwrap() > 0.0,
        "1009 waits for the backoff: {}",
        json(&r)
    );
    assert!(
        until(10_000, || s.state() == "open"
            && get(ch, "state").as_string().as_deref()
                == Some("subscribed"))
        .await,
        "reconnected and subscribed again"
    );
}

// ---- maxPayload ----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_frame_over_the_default_cap_closes_1009_is_reported_and_the_socket_reconnects() {
    let s = opened("{}").await;
    let name = unique("limits-default");
    let (ch, got) = watched(&s, &name).await;
    let errors = record(&s, "error");
    let disconnects = record(&s, "disconnect");
    let reconnecting = record(&s, "reconnecting");

    let n = errors.borrow().len();
    let frame = publish_big(&name, "", "x", 16 * 1024 * 1024).await;
    assert!(
        frame > 16.0 * 1024.0 * 1024.0,
        "the frame is over 16 MiB: {frame}"
    );
    expect_1009_then_reconnect(&s, &ch, n, &errors, &disconnects, &reconnecting).await;
    assert!(
        got.borrow().is_empty(),
        "the over-cap message is not delivered"
    );

    // The socket keeps working: a frame under the cap arrives on the same channel.
    publish_big(&name, "", "y", 1000).await;
    assert!(until(5_000, || !got.borrow().is_empty()).await, "delivered");
    assert_eq!(received_len(&got, 0), Some(1000.0));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_smaller_max_payload_counts_utf8_bytes_on_both_read_paths() {
    // Large frames (past 64 Ki UTF-16 units) are encoded in JS and checked before the copy;
    // small ones go through the string glue and are checked after it. Both count UTF-8 bytes.
    let s =
        opened("{maxPayload: 200000, autoReconnectOptions: {initialDelay: 100, maxDelay: 200}}")
            .await;
    let name = unique("limits-small");
    let (ch, got) = watched(&s, &name).await;
    let errors = record(&s, "error");
    let disconnects = record(&s, "disconnect");
    let reconnecting = record(&s, "reconnecting");

    // 110 000 'é': ~110 k UTF-16 units (under the cap) but ~220 kB of UTF-8 (over it).
    let n = errors.borrow().len();
    let frame = publish_big(&name, "", "é", 110_000).await;
    assert!(frame > 200_000.0);
    expect_1009_then_reconnect(&s, &ch, n, &errors, &disconnects, &reconnecting).await;
    assert!(got.borrow().is_empty(), "not delivered");

    // 70 000 'é' (~140 kB): under the cap, read on the large path.
    let frame = publish_big(&name, "", "é", 70_000).await;
    assert!(frame < 200_000.0);
    assert!(until(5_000, || got.borrow().len() == 1).await, "delivered");
    assert_eq!(received_len(&got, 0), Some(70_000.0));
    assert_eq!(errors.borrow().len(), 1, "no further error");
    s.disconnect(None, None).unwrap();

    // The small path: a 100-byte cap.
    let s =
        opened("{maxPayload: 120, autoReconnectOptions: {initialDelay: 100, maxDelay: 200}}").await;
    let name = unique("lim");
    let (ch, got) = watched(&s, &name).await;
    let errors = record(&s, "error");
    let disconnects = record(&s, "disconnect");
    let reconnecting = record(&s, "reconnecting");
    let n = errors.borrow().len();
    let frame = publish_big(&name, "", "é", 50).await; // ~110 units, ~160 bytes
    assert!(frame > 120.0);
    expect_1009_then_reconnect(&s, &ch, n, &errors, &disconnects, &reconnecting).await;
    let frame = publish_big(&name, "", "z", 50).await;
    assert!(frame <= 120.0, "{frame}");
    assert!(until(5_000, || got.borrow().len() == 1).await, "delivered");
    assert_eq!(received_len(&got, 0), Some(50.0));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
fn max_payload_must_be_a_positive_whole_number() {
    for bad in [
        "0", "-1", "1.5", "'1000'", "NaN", "Infinity", "null", "{}", "2 ** 32",
    ] {
        let r = connect(
            &main_url(),
            js(&format!("{{autoConnect: false, maxPayload: {bad}}}")),
        );
        let err = r
            .err()
            .unwrap_or_else(|| panic!("maxPayload: {bad} accepted"));
        assert_eq!(error_name(&err), "InvalidArgumentsError", "{bad}");
        assert!(error_message(&err).contains("maxPayload"), "{bad}");
    }
    for good in ["1", "1024", "4294967295"] {
        assert!(
            connect(
                &main_url(),
                js(&format!("{{autoConnect: false, maxPayload: {good}}}"))
            )
            .is_ok(),
            "{good}"
        );
    }
}

// ---- token storage at the quota ------------------------------------------------------------

fn local() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Has the server set a token with `payload` (JSON) on `s`; returns it once the socket has it.
async fn server_sets_token(s: &JsSocket, payload: &str) -> String {
    let id = s.id().expect("connected");
    let r = control(
        "/setAuthToken",
        Some(&format!(r#"{{"socketId":"{id}","payload":{payload}}}"#)),
    )
    .await;
    let token = get(&r, "token").as_string().expect("token");
    assert!(
        until(10_000, || s.signed_auth_token().as_deref()
            == Some(token.as_str()))
        .await,
        "the socket took the token"
    );
    token
}

#[wasm_bindgen_test]
async fn a_token_over_the_local_storage_quota_fails_that_save_only() {
    let key = "sockline-test.quota";
    local().remove_item(key).unwrap();
    let s = opened(&format!("{{authTokenName: '{key}'}}")).await;
    let errors = record(&s, "error");

    // ~6 MB of payload: a ~8 MB token, past Chromium's localStorage quota for the origin.
    let pad = "x".repeat(6_000_000);
    let big = server_sets_token(&s, &format!(r#"{{"username":"big","pad":"{pad}"}}"#)).await;
    assert!(
        until(5_000, || !errors.borrow().is_empty()).await,
        "the failed save is reported"
    );
    let err = errors.borrow()[0].get(0);
    assert_eq!(error_name(&err), "StorageError");
    let msg = error_message(&err);
    assert!(msg.contains("quota"), "named as a quota error: {msg}");
    assert!(!msg.contains("not available"), "{msg}");
    assert!(!msg.contains(&big[..40]), "no token in the message");
    assert_eq!(
        local().get_item(key).unwrap(),
        None,
        "nothing (stale) stored"
    );

    // A reconnect still carries the big token (kept in memory).
    let next = s.once("connect".into(), JsValue::UNDEFINED);
    let id = s.id().unwrap();
    control(
        "/disconnect",
        Some(&format!(r#"{{"socketId":"{id}","code":4444}}"#)),
    )
    .await;
    let ev = within(10_000, next).await.expect("reconnected");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(true));

    // The next token fits: it is saved to localStorage again.
    let small = server_sets_token(&s, r#"{"username":"small"}"#).await;
    assert_eq!(
        local().get_item(key).unwrap().as_deref(),
        Some(small.as_str()),
        "storage is used again after a quota error"
    );
    let storage_errors = errors
        .borrow()
        .iter()
        .filter(|a| error_name(&a.get(0)) == "StorageError")
        .count();
    assert_eq!(storage_errors, 1, "one report, for the one failed save");
    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}
