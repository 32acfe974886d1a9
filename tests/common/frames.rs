//! Helpers shared by the big-frame browser tests (`tests/limits.rs`, `tests/wasm_memory.rs`):
//! an open socket on the main server, a watched channel, and server-side big publishes.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function};
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{control, get, js, main_url, recorder, until, within};

/// A socket on the main server, once its `connect` event came.
pub async fn opened(opts: &str) -> JsSocket {
    let s = connect(&main_url(), js(opts)).expect("connect");
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect event");
    s
}

/// Subscribes `name` and returns the list of what its watcher received.
pub async fn watched(s: &JsSocket, name: &str) -> (JsValue, Rc<RefCell<Vec<Array>>>) {
    let ch = s
        .subscribe(name.into(), JsValue::UNDEFINED)
        .expect("subscribe");
    let (f, got) = recorder();
    let watch: Function = get(&ch, "watch").dyn_into().unwrap();
    watch.call1(&ch, &f).unwrap();
    assert!(
        until(5_000, || get(&ch, "state").as_string().as_deref()
            == Some("subscribed"))
        .await,
        "{name} subscribed"
    );
    (ch, got)
}

/// Publishes `head + fill.repeat(count)` from the server; returns the frame's UTF-8 size.
pub async fn publish_big(channel: &str, head: &str, fill: &str, count: u32) -> f64 {
    let r = control(
        "/publishBig",
        Some(&format!(
            r#"{{"channel":"{channel}","head":"{head}","fill":"{fill}","count":{count}}}"#
        )),
    )
    .await;
    get(&r, "frameBytes").as_f64().expect("frameBytes")
}

/// Length of the string a watcher received as its call `i`.
pub fn received_len(got: &Rc<RefCell<Vec<Array>>>, i: usize) -> Option<f64> {
    got.borrow()
        .get(i)
        .and_then(|a| a.get(0).dyn_into::<js_sys::JsString>().ok())
        .map(|s| s.length() as f64)
}
