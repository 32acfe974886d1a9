//! The wasm memory a large frame takes (refused, then accepted), measured against the real fixtures. This file
//! holds one test so that it runs in a fresh module instance: wasm memory never shrinks, so
//! free heap left by another test would hide the growth.
#![cfg(target_arch = "wasm32")]

mod common;

use common::frames::*;
use common::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MIB: f64 = 1024.0 * 1024.0;

/// The size of this module's wasm memory (it only ever grows).
fn wasm_memory() -> f64 {
    let m: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    m.buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

#[wasm_bindgen_test]
async fn a_refused_frame_takes_no_wasm_memory_and_an_accepted_one_at_most_twice_its_size() {
    // The worst case for wasm-bindgen's string glue: a non-ASCII character first (it then
    // reserves 3 bytes for every remaining UTF-16 unit).
    let s = opened("{}").await;
    let name = format!("memory-{}", (js_sys::Math::random() * 1e9) as u64);
    let (_, got) = watched(&s, &name).await;

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
    let (_, got) = watched(&s, &name).await;
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
