//! The wasm memory a large frame takes (refused, then accepted), measured against the real fixtures. This file
//! holds one test so that it runs in a fresh module instance: wasm memory never shrinks, so
//! free heap left by another test would hide the growth.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use js_sys::{Array, Function};
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MIB: f64 = 1024.0 * 1024.0;

async fn opened(opts: &str) -> JsSocket {
    let s = connect(&main_url(), js(opts)).expect("connect");
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect event");
    s
}

/// Subscribes `name` and returns the list of what its watcher received.
async fn watched(s: &JsSocket, name: &str) -> Rc<RefCell<Vec<Array>>> {
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
    got
}

/// Publishes `head + fill.repeat(count)` from the server; returns the frame's UTF-8 size.
async fn publish_big(channel: &str, head: &str, fill: &str, count: u32) -> f64 {
    let r = control(
        "/publishBig",
        Some(&format!(
            r#"{{"channel":"{channel}","head":"{head}","fill":"{fill}","count":{count}}}"#
        )),
    )
    .await;
    get(&r, "frameBytes").as_f64().expect("frameBytes")
}

/// The size of this module's wasm memory (it only ever grows).
fn wasm_memory() -> f64 {
    let m: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    m.buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// Length of the string a watcher received as its call `i`.
fn received_len(got: &Rc<RefCell<Vec<Array>>>, i: usize) -> Option<f64> {
    got.borrow()
        .get(i)
        .and_then(|a| a.get(0).dyn_into::<js_sys::JsString>().ok())
        .map(|s| s.length() as f64)
}

#[wasm_bindgen_test]
async fn a_refused_frame_takes_no_wasm_memory_and_an_accepted_one_at_most_twice_its_size() {
    // The worst case for wasm-bindgen's string glue: a non-ASCII character first (it then
    // reserves 3 bytes for every remaining UTF-16 unit).
    let s = opened("{}").await;
    let name = format!("memory-{}", (js_sys::Math::random() * 1e9) as u64);
    let got = watched(&s, &name).await;

    // Over the default cap (16 MiB): refused before it is copied into wasm memory.
    let before = wasm_memory();
    let next = s.once("connect".into(), JsValue::UNDEFINED);
    let frame = publish_big(&name, "", "x", 20 * 1024 * 1024).await;
    within(10_000, next)
        .await
        .expect("reconnected after the 1009");
    let grown = wasm_memory() - before;
    assert!(
        grown < MIB,
        "a refused {:.1} MiB frame grew wasm memory by {:.1} MiB",
        frame / MIB,
        grown / MIB
    );
    assert!(got.borrow().is_empty(), "not delivered");
    s.disconnect(None, None).unwrap();

    // Accepted under a larger cap: at most twice its size.
    let s = opened("{maxPayload: 64 * 1024 * 1024}").await;
    let got = watched(&s, &name).await;
    let before = wasm_memory();
    let frame = publish_big(&name, "é", "x", 24 * 1024 * 1024).await;
    assert!(
        until(30_000, || !got.borrow().is_empty()).await,
        "the large message arrives"
    );
    let grown = wasm_memory() - before;
    web_sys::console::log_1(
        &format!(
            "frame {:.1} MiB: wasm memory {:.1} -> {:.1} MiB (+{:.1} MiB)",
            frame / MIB,
            before / MIB,
            (before + grown) / MIB,
            grown / MIB
        )
        .into(),
    );
    assert_eq!(received_len(&got, 0), Some(24.0 * MIB + 1.0));
    assert!(
        grown <= 2.0 * frame + 4.0 * MIB,
        "wasm memory grew {:.1} MiB for a {:.1} MiB frame",
        grown / MIB,
        frame / MIB
    );
    s.disconnect(None, None).unwrap();
}
