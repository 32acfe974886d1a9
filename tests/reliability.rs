//! Reliability in a real browser through the fault proxy: drops, outages, blackholes, close
//! codes, give-up, page `online`/`offline` events. Against socketcluster-server 20.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use js_sys::Function;
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn proxy(name: &str, mode: &str) {
    control(
        "/proxy",
        Some(&format!(r#"{{"name":"{name}","mode":"{mode}"}}"#)),
    )
    .await;
}

async fn opened(url: &str, opts: &str) -> JsSocket {
    let s = connect(url, js(opts)).expect("connect");
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect event");
    s
}

/// Counts settlements of callback-form emits: `(ok, errors by name, total calls)`.
#[derive(Default)]
struct Tally {
    ok: usize,
    errors: Vec<String>,
    calls_per_emit: Vec<u32>,
}

fn counted_callback(tally: &Rc<RefCell<Tally>>, index: usize) -> Function {
    let t = tally.clone();
    let f = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |err: JsValue, _data: JsValue| {
        let mut t = t.borrow_mut();
        t.calls_per_emit[index] += 1;
        if err.is_null() {
            t.ok += 1;
        } else {
            t.errors.push(error_name(&err));
        }
    });
    let func: Function = f.as_ref().unchecked_ref::<Function>().clone();
    f.forget(); // test-only
    func
}

fn emit_counted(s: &JsSocket, tally: &Rc<RefCell<Tally>>, event: &str, data: JsValue, opts: &str) {
    let index = {
        let mut t = tally.borrow_mut();
        t.calls_per_emit.push(0);
        t.calls_per_emit.len() - 1
    };
    let cb = counted_callback(tally, index);
    // Promise form with options, settled through `then` into the counting callback.
    let p: js_sys::Promise = s
        .emit(event.into(), data, js(opts))
        .expect("emit")
        .unchecked_into();
    Function::new_with_args("p, cb", "p.then((d) => cb(null, d), (e) => cb(e))")
        .call2(&JsValue::NULL, &p, &cb)
        .unwrap();
}

/// 50 emits in flight when the proxy drops every connection and refuses new ones, 50 more
/// during the outage, then the network heals. Returns the tally once every emit settled, after
/// checking that none settled twice.
async fn outage_with_100_emits(call_opts: &str) -> Tally {
    proxy("main", "pass").await;
    let s = opened(
        &proxy_main_url(),
        "{ackTimeout: 5000, autoReconnectOptions: {initialDelay: 100, maxDelay: 300}}",
    )
    .await;
    let tally = Rc::new(RefCell::new(Tally::default()));
    for _ in 0..50 {
        emit_counted(&s, &tally, "slow", 300.into(), call_opts);
    }
    sleep(50).await;
    proxy("main", "refuse").await; // drops every connection and refuses new ones
    assert!(until(3_000, || s.state() != "open").await);
    for _ in 0..50 {
        emit_counted(&s, &tally, "echo", 1.into(), call_opts);
    }
    sleep(800).await;
    proxy("main", "pass").await;
    let all_settled = || tally.borrow().calls_per_emit.iter().all(|c| *c >= 1);
    assert!(until(15_000, all_settled).await, "every emit settles");
    sleep(300).await;
    s.disconnect(None, None).unwrap();
    let t = std::mem::take(&mut *tally.borrow_mut());
    assert!(
        t.calls_per_emit.iter().all(|c| *c == 1),
        "none settles twice"
    );
    assert_eq!(t.calls_per_emit.len(), 100);
    t
}

#[wasm_bindgen_test]
async fn outage_with_100_emits_every_one_settles_once() {
    let t = outage_with_100_emits("{}").await;
    assert_eq!(t.ok + t.errors.len(), 100);
    assert!(
        t.errors
            .iter()
            .all(|n| n == "BadConnectionError" || n == "TimeoutError"),
        "errors: {:?}",
        t.errors
    );
    // Those in flight at the drop were lost with the connection.
    assert!(!t.errors.is_empty(), "the in-flight emits were rejected");
}

#[wasm_bindgen_test]
async fn outage_with_retries_every_one_resolves() {
    let t = outage_with_100_emits("{retries: 3}").await;
    assert_eq!(t.ok, 100, "all resolve; errors: {:?}", t.errors);
}

#[wasm_bindgen_test]
async fn blackhole_reconnects_within_ping_timeout_plus_one_second() {
    proxy("short", "pass").await;
    let s = opened(&proxy_short_url(), "{}").await;
    let connecting = s.once("connecting".into(), JsValue::UNDEFINED);
    proxy("short", "blackhole").await;
    let t0 = js_sys::Date::now();
    let r = within(2_500, connecting).await;
    let took = js_sys::Date::now() - t0;
    proxy("short", "pass").await;
    r.expect("a new connection attempt");
    assert!(took <= 1_600.0, "took {took} ms (pingTimeout 600 + 1 s)");
    // and it comes back for real once the network heals
    within(10_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("reconnected");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn twenty_drop_cycles_keep_ten_channels_subscribed() {
    proxy("main", "pass").await;
    let s = opened(
        &proxy_main_url(),
        "{autoReconnectOptions: {initialDelay: 20, maxDelay: 100}}",
    )
    .await;
    let names: Vec<String> = (0..10).map(|i| format!("cycle-{i}")).collect();
    let received = Rc::new(RefCell::new(Vec::<String>::new()));
    for n in &names {
        let ch = s.subscribe(n.as_str().into(), JsValue::UNDEFINED).unwrap();
        let r = received.clone();
        let name = n.clone();
        let w = Closure::<dyn FnMut(JsValue)>::new(move |d: JsValue| {
            r.borrow_mut()
                .push(format!("{name}:{}", d.as_string().unwrap_or_default()));
        });
        let watch: Function = js_sys::Reflect::get(&ch, &"watch".into()).unwrap().into();
        watch.call1(&ch, w.as_ref()).unwrap();
        w.forget(); // test-only
    }
    let all_subscribed = |s: &JsSocket| s.subscriptions(Some(false)).len() == 10;
    assert!(until(5_000, || all_subscribed(&s)).await);
    for cycle in 0..20 {
        let disconnected = s.once("disconnect".into(), JsValue::UNDEFINED);
        proxy("main", "drop").await;
        within(5_000, disconnected)
            .await
            .unwrap_or_else(|_| panic!("cycle {cycle}: disconnect"));
        proxy("main", "pass").await;
        assert!(
            until(5_000, || s.state() == "open" && all_subscribed(&s)).await,
            "cycle {cycle}: all 10 subscribed again"
        );
    }
    for n in &names {
        control(
            "/publish",
            Some(&format!(r#"{{"channel":"{n}","data":"after"}}"#)),
        )
        .await;
    }
    assert!(until(5_000, || received.borrow().len() == 10).await);
    let mut got = received.borrow().clone();
    got.sort();
    let mut want: Vec<String> = names.iter().map(|n| format!("{n}:after")).collect();
    want.sort();
    assert_eq!(got, want);
    s.disconnect(None, None).unwrap();
}

async fn server_close(code: u16) -> (JsSocket, JsValue) {
    let s = opened(&main_url(), "{autoReconnectOptions: {initialDelay: 5000}}").await;
    let id = s.id().unwrap();
    let closed = s.once("close".into(), JsValue::UNDEFINED);
    server_disconnect(&id, code, "test").await;
    let ev = within(5_000, closed).await.expect("close");
    (s, ev)
}

#[wasm_bindgen_test]
async fn close_4501_and_1000_do_not_reconnect() {
    for code in [4501u16, 1000] {
        let (s, ev) = server_close(code).await;
        assert_eq!(get(&ev, "code").as_f64(), Some(code as f64));
        let again = within(700, s.once("connecting".into(), JsValue::UNDEFINED)).await;
        assert!(again.is_err(), "{code}: no reconnect");
        assert!(!s.pending_reconnect(), "{code}");
        assert_eq!(s.state(), "closed");
        let e = within(
            2_000,
            s.emit("echo".into(), 1.into(), JsValue::UNDEFINED)
                .unwrap()
                .unchecked_into(),
        )
        .await
        .unwrap_err();
        assert_eq!(get(&e, "type").as_string().as_deref(), Some("closed"));
    }
}

#[wasm_bindgen_test]
async fn close_4001_reconnects_at_once() {
    let (s, _) = server_close(4001).await;
    let t0 = js_sys::Date::now();
    within(3_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("reconnected");
    let took = js_sys::Date::now() - t0;
    assert!(
        took < 1_000.0,
        "immediate (initialDelay is 5000): {took} ms"
    );
    s.disconnect(None, None).unwrap();
}

/// The server closes the socket with `code`; resolves once the client scheduled a reconnect.
async fn server_disconnect_then_reconnecting(s: &JsSocket, code: u16) -> JsValue {
    let id = s.id().unwrap();
    let reconnecting = s.once("reconnecting".into(), JsValue::UNDEFINED);
    server_disconnect(&id, code, "x").await;
    within(3_000, reconnecting).await.expect("reconnecting")
}

#[wasm_bindgen_test]
async fn close_4444_reconnects_after_backoff() {
    let s = opened(
        &main_url(),
        "{autoReconnectOptions: {initialDelay: 400, jitter: 0}}",
    )
    .await;
    let ev = server_disconnect_then_reconnecting(&s, 4444).await;
    assert_eq!(get(&ev, "attempt").as_f64(), Some(1.0));
    assert_eq!(get(&ev, "delay").as_f64(), Some(400.0));
    assert!(s.pending_reconnect());
    within(3_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("reconnected");
    assert!(!s.pending_reconnect());
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn max_attempts_gives_up_then_connect_works() {
    proxy("door", "refuse").await;
    let s = connect(
        &door_url(),
        js("{autoReconnectOptions: {initialDelay: 50, maxDelay: 100, maxAttempts: 3}}"),
    )
    .unwrap();
    let (rec, aborts) = recorder();
    s.on("connectAbort".into(), rec.into()).unwrap();
    let ev = within(5_000, s.once("giveUp".into(), JsValue::UNDEFINED)).await;
    proxy("door", "pass").await;
    let ev = ev.expect("giveUp");
    assert_eq!(get(&ev, "attempts").as_f64(), Some(3.0));
    assert_eq!(aborts.borrow().len(), 3, "three attempts");
    assert_eq!(s.state(), "closed");
    assert!(!s.pending_reconnect());
    s.connect();
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect() works after giveUp");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn online_event_cuts_the_backoff_wait_short() {
    proxy("door", "refuse").await;
    let s = connect(
        &door_url(),
        js("{autoReconnectOptions: {initialDelay: 20000, jitter: 0}}"),
    )
    .unwrap();
    let ev = within(3_000, s.once("reconnecting".into(), JsValue::UNDEFINED)).await;
    proxy("door", "pass").await;
    assert_eq!(
        get(&ev.expect("reconnecting"), "delay").as_f64(),
        Some(20_000.0)
    );
    let connected = s.once("connect".into(), JsValue::UNDEFINED);
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new("online").unwrap())
        .unwrap();
    within(3_000, connected).await.expect("connected at once");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn offline_event_fails_calls_in_flight_fast() {
    let s = opened(&main_url(), "{autoReconnectOptions: {initialDelay: 300}}").await;
    let p: js_sys::Promise = s
        .emit(
            "noReply".into(),
            JsValue::UNDEFINED,
            js("{ackTimeout: 10000}"),
        )
        .unwrap()
        .unchecked_into();
    sleep(100).await;
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new("offline").unwrap())
        .unwrap();
    let e = within(1_000, p).await.unwrap_err();
    assert_eq!(error_name(&e), "BadConnectionError");
    within(3_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("reconnects after the backoff");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn outbox_limit_rejects_with_outbox_full() {
    let s = connect(&main_url(), js("{outboxLimit: 2}")).unwrap();
    assert_eq!(s.state(), "connecting");
    let p1: js_sys::Promise = s
        .emit("echo".into(), 1.into(), JsValue::UNDEFINED)
        .unwrap()
        .unchecked_into();
    let p2: js_sys::Promise = s
        .emit("echo".into(), 2.into(), JsValue::UNDEFINED)
        .unwrap()
        .unchecked_into();
    let p3: js_sys::Promise = s
        .emit("echo".into(), 3.into(), JsValue::UNDEFINED)
        .unwrap()
        .unchecked_into();
    let e = within(1_000, p3).await.unwrap_err();
    assert_eq!(error_name(&e), "OutboxFullError");
    assert_eq!(within(5_000, p1).await.unwrap().as_f64(), Some(1.0));
    assert_eq!(within(5_000, p2).await.unwrap().as_f64(), Some(2.0));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn emits_during_a_backoff_wait_do_not_bypass_it() {
    let s = opened(
        &main_url(),
        "{ackTimeout: 5000, autoReconnectOptions: {initialDelay: 1500, jitter: 0}}",
    )
    .await;
    server_disconnect_then_reconnecting(&s, 4444).await;
    let t0 = js_sys::Date::now();
    let p: js_sys::Promise = s
        .emit("echo".into(), 7.into(), JsValue::UNDEFINED)
        .unwrap()
        .unchecked_into();
    assert_eq!(s.state(), "closed");
    assert!(s.pending_reconnect());
    let r = within(5_000, p).await.unwrap();
    let took = js_sys::Date::now() - t0;
    assert_eq!(r.as_f64(), Some(7.0));
    assert!(took >= 1_300.0, "waited for the backoff: {took} ms");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn disconnect_releases_every_page_listener() {
    // Count the listeners the socket adds to and removes from `window` and `document`.
    let counts = js(r#"(() => {
        const c = { added: 0, removed: 0, live: new Set() };
        for (const target of [window, document]) {
            const add = target.addEventListener, remove = target.removeEventListener;
            target.__sockline_restore = () => { target.addEventListener = add; target.removeEventListener = remove; };
            target.addEventListener = function (name, fn, o) { c.added++; c.live.add(fn); return add.call(this, name, fn, o); };
            target.removeEventListener = function (name, fn, o) { if (c.live.delete(fn)) c.removed++; return remove.call(this, name, fn, o); };
        }
        return c;
    })()"#);
    let s = opened(&main_url(), "{}").await;
    let added = get(&counts, "added").as_f64().unwrap();
    assert!(
        added >= 4.0,
        "online, offline, pageshow, visibilitychange: {added}"
    );
    s.disconnect(None, None).unwrap();
    let removed = get(&counts, "removed").as_f64().unwrap();
    js("(() => { window.__sockline_restore(); document.__sockline_restore(); })()");
    assert_eq!(removed, added, "every listener added was removed");
    // and the socket still works afterwards
    s.connect();
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("reconnects after disconnect()");
    s.disconnect(None, None).unwrap();
}
