//! Helpers shared by the browser tests: the fixture addresses, the control endpoint, bounded
//! waits, and small JS conveniences.
#![allow(dead_code)]

pub mod frames;
pub mod sse;

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// All fixture ports are `BASE + offset`; `FIXTURES_BASE_PORT` at compile time moves them (so
/// several test runs can use private fixtures side by side).
pub fn base() -> u16 {
    option_env!("FIXTURES_BASE_PORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(8100)
}

fn ws(offset: u16) -> String {
    format!("ws://127.0.0.1:{}/socketcluster/", base() + offset)
}

/// The control endpoint (HTTP, CORS open).
pub fn control_url() -> String {
    format!("http://127.0.0.1:{}", base())
}
/// socketcluster-server 20, default settings.
pub fn main_url() -> String {
    ws(1)
}
/// The same app with `protocolVersion: 1`.
pub fn v1_url() -> String {
    ws(2)
}
/// The same app with `pingInterval: 200, pingTimeout: 600`.
pub fn short_url() -> String {
    ws(3)
}
/// Fault proxy `short`, in front of the short-ping server.
pub fn proxy_short_url() -> String {
    ws(4)
}
/// Fault proxy `main`, in front of the main server.
pub fn proxy_main_url() -> String {
    ws(5)
}
/// The SSE fixture (HTTP).
pub fn sse_url() -> String {
    format!("http://127.0.0.1:{}", base() + 6)
}
/// Fault proxy `door` (can refuse connections), in front of the main server.
pub fn door_url() -> String {
    ws(7)
}

/// Parses a JS expression (object literals, functions) for test input.
pub fn js(expr: &str) -> JsValue {
    js_sys::eval(&format!("({expr})")).expect("valid JS expression")
}

pub fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn json(v: &JsValue) -> String {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "undefined".into())
}

/// Awaits a Promise for at most `ms`; `Err("timeout")` after that.
pub async fn within(ms: u32, p: Promise) -> Result<JsValue, JsValue> {
    let f = JsFuture::from(p);
    match select(Box::pin(f), TimeoutFuture::new(ms)).await {
        Either::Left((r, _)) => r,
        Either::Right(_) => Err(JsValue::from_str(&format!("timeout after {ms} ms"))),
    }
}

/// Waits until `cond()` holds, polling every 20 ms, for at most `ms`.
pub async fn until(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    let start = js_sys::Date::now();
    loop {
        if cond() {
            return true;
        }
        if js_sys::Date::now() - start > ms as f64 {
            return false;
        }
        TimeoutFuture::new(20).await;
    }
}

/// Like [`until`], for async conditions (e.g. asking the control endpoint).
pub async fn until_async<F, Fut>(ms: u32, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = js_sys::Date::now();
    loop {
        if cond().await {
            return true;
        }
        if js_sys::Date::now() - start > ms as f64 {
            return false;
        }
        TimeoutFuture::new(50).await;
    }
}

pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Calls the control endpoint; `body` is JSON text (POST) or `None` (GET).
pub async fn control(path: &str, body: Option<&str>) -> JsValue {
    let window = web_sys::window().unwrap();
    let init = web_sys::RequestInit::new();
    if let Some(b) = body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(b));
        let h = web_sys::Headers::new().unwrap();
        h.set("content-type", "application/json").unwrap();
        init.set_headers(&h);
    }
    let p = window.fetch_with_str_and_init(&format!("{}{path}", control_url()), &init);
    let resp: web_sys::Response = within(10_000, p)
        .await
        .expect("control request")
        .dyn_into()
        .unwrap();
    within(10_000, resp.json().unwrap())
        .await
        .expect("control json")
}

/// Has the main server close socket `id` with `code` and `reason`.
pub async fn server_disconnect(id: &str, code: u16, reason: &str) {
    let body = format!(r#"{{"socketId":"{id}","code":{code},"reason":{reason:?}}}"#);
    control("/disconnect", Some(&body)).await;
}

/// Records every call of a listener: `(fn, calls)`; each call's arguments as an array.
pub fn recorder() -> (Function, Rc<RefCell<Vec<Array>>>) {
    let calls: Rc<RefCell<Vec<Array>>> = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    let f = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |a: JsValue, b: JsValue| {
        c.borrow_mut().push(Array::of2(&a, &b));
    });
    let func: Function = f.as_ref().unchecked_ref::<Function>().clone();
    // Test-only: the listener must outlive the test body's borrow of it.
    f.forget();
    (func, calls)
}

pub fn error_name(e: &JsValue) -> String {
    get(e, "name").as_string().unwrap_or_default()
}

pub fn error_message(e: &JsValue) -> String {
    get(e, "message").as_string().unwrap_or_default()
}
