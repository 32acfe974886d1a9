//! Environment smoke test: headless Chromium + chromedriver + the SocketCluster fixture.
//! Opens a raw `WebSocket`, sends the `#handshake` and expects `{"rid":1,"data":{"id":..}}`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{Event, MessageEvent, WebSocket};

mod common;

wasm_bindgen_test_configure!(run_in_browser);

const HANDSHAKE: &str = r##"{"event":"#handshake","data":{"authToken":null},"cid":1}"##;
const TIMEOUT_MS: u32 = 5_000;

type Reply = Result<String, String>;

#[wasm_bindgen_test]
async fn socketcluster_handshake_round_trip() {
    let url = common::main_url();
    let ws = WebSocket::new(&url).expect("WebSocket::new");
    let (tx, rx) = oneshot::channel::<Reply>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let finish = {
        let tx = tx.clone();
        move |r: Reply| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(r);
            }
        }
    };

    let on_open = {
        let ws = ws.clone();
        let finish = finish.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Err(e) = ws.send_with_str(HANDSHAKE) {
                finish(Err(format!("send failed: {e:?}")));
            }
        })
    };
    let on_message = {
        let finish = finish.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            match ev.data().as_string() {
                // "#1" is a SocketCluster ping; wait for the handshake reply.
                Some(text) if text == "#1" => {}
                Some(text) => finish(Ok(text)),
                None => finish(Err("non-text frame".into())),
            }
        })
    };
    let on_error = {
        let finish = finish.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            finish(Err(format!(
                "WebSocket error (is the fixture on {url} up?)"
            )))
        })
    };
    let on_close = Closure::<dyn FnMut(Event)>::new(move |_| finish(Err("closed early".into())));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));

    let outcome = match select(rx, TimeoutFuture::new(TIMEOUT_MS)).await {
        Either::Left((Ok(r), _)) => r,
        Either::Left((Err(_), _)) => Err("reply channel dropped".into()),
        Either::Right(_) => Err(format!("no handshake reply within {TIMEOUT_MS} ms")),
    };

    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onerror(None);
    ws.set_onclose(None);
    let _ = ws.close();
    drop((on_open, on_message, on_error, on_close));

    let text = outcome.unwrap_or_else(|e| panic!("{e}"));
    let reply: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON {text:?}: {e}"));
    assert_eq!(reply["rid"], 1, "reply: {text}");
    let id = reply["data"]["id"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "handshake reply has no socket id: {text}");
}
