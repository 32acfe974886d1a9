//! Browser tests of the JS `Socket` against the real socketcluster-server 20 fixtures
//! (`tests/fixtures`, started by `./run test`).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::{Function, Promise};
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn open(url: &str, opts: &str) -> JsSocket {
    connect(url, js(opts)).expect("connect")
}

async fn opened(url: &str, opts: &str) -> JsSocket {
    let s = open(url, opts);
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect event");
    s
}

async fn emit(s: &JsSocket, event: &str, data: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    let p: Promise = s
        .emit(event.into(), data, opts)
        .expect("emit returns")
        .dyn_into()
        .expect("a Promise");
    within(15_000, p).await
}

#[wasm_bindgen_test]
async fn handshake_gives_id_and_open_state() {
    let s = open(&main_url(), "{}");
    assert_eq!(s.state(), "connecting");
    assert!(s.id().is_none());
    let ev = within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    let id = s.id().expect("id after handshake");
    assert_eq!(id.len(), 20, "server ids are 20 characters: {id}");
    assert_eq!(get(&ev, "id").as_string().unwrap(), id);
    assert_eq!(get(&ev, "pingTimeout").as_f64(), Some(30_000.0));
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    assert_eq!(s.state(), "open");
    assert_eq!(s.url(), main_url());
    s.disconnect(None, None).unwrap();
    assert_eq!(s.state(), "closed");
}

#[wasm_bindgen_test]
async fn url_rules() {
    let s = open(
        &format!("http://127.0.0.1:{}", base() + 1),
        "{autoConnect: false}",
    );
    assert_eq!(s.url(), main_url());
    assert_eq!(
        s.auth_token_name(),
        format!("socketcluster.authToken.127.0.0.1:{}", base() + 1)
    );
    let s = open(
        "https://example.com/",
        "{autoConnect: false, query: {a: '1', list: ['x', 'y']}}",
    );
    assert_eq!(
        s.url(),
        "wss://example.com/socketcluster/?a=1&list=x&list=y"
    );
    assert_eq!(
        s.auth_token_name(),
        "socketcluster.authToken.example.com:443"
    );
    let s = open("ws://h:9/custom/path", "{autoConnect: false, query: 'k=v'}");
    assert_eq!(s.url(), "ws://h:9/custom/path?k=v");
    assert_eq!(s.state(), "closed");
    for bad in ["ftp://x/", "ws://[bad"] {
        let e = connect(bad, JsValue::UNDEFINED)
            .err()
            .expect("bad URL throws");
        assert_eq!(error_name(&e), "InvalidArgumentsError", "{bad}");
    }
}

#[wasm_bindgen_test]
fn wrongly_typed_options_throw_naming_the_option() {
    let cases = [
        ("{ackTimeout: 'x'}", "ackTimeout"),
        ("{autoConnect: 1}", "autoConnect"),
        ("{protocolVersion: 3}", "protocolVersion"),
        (
            "{autoReconnectOptions: {jitter: 2}}",
            "autoReconnectOptions.jitter",
        ),
        (
            "{autoReconnectOptions: {initialDelay: -5}}",
            "autoReconnectOptions.initialDelay",
        ),
        (
            "{autoReconnectOptions: {maxAttempts: 0}}",
            "autoReconnectOptions.maxAttempts",
        ),
        ("{outboxLimit: 0}", "outboxLimit"),
        ("{authStorage: 'disk'}", "authStorage"),
        ("{query: 5}", "query"),
        ("'nope'", "options"),
    ];
    for (opts, name) in cases {
        let e = connect(&main_url(), js(opts))
            .err()
            .unwrap_or_else(|| panic!("{opts} accepted"));
        assert_eq!(error_name(&e), "InvalidArgumentsError", "{opts}");
        assert!(
            error_message(&e).contains(name),
            "{opts}: {}",
            error_message(&e)
        );
    }
}

#[wasm_bindgen_test]
async fn emit_echo_resolves_deep_equal() {
    let s = opened(&main_url(), "{}").await;
    let data = js("{hello: 'world', n: [1, 2.5, null, {deep: true}], s: 'é😀\"'}");
    let r = emit(&s, "echo", data.clone(), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(json(&r), json(&data));
    // no data → answer without data
    let r = emit(&s, "echo", JsValue::UNDEFINED, JsValue::UNDEFINED)
        .await
        .unwrap();
    assert!(r.is_null() || r.is_undefined());
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn server_errors_are_hydrated() {
    let s = opened(&main_url(), "{}").await;
    let e = emit(&s, "fail", JsValue::UNDEFINED, JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(error_name(&e), "MyCustomError");
    assert_eq!(error_message(&e), "Something failed");
    assert_eq!(get(&e, "extra").as_f64(), Some(123.0));
    let e = emit(&s, "failString", JsValue::UNDEFINED, JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(error_message(&e), "Error message");
    assert_eq!(
        get(&e, "value").as_string().as_deref(),
        Some("Error message")
    );
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn callback_form_is_called_once_with_err_data() {
    let s = opened(&main_url(), "{}").await;
    let (cb, calls) = recorder();
    let r = s
        .emit("echo".into(), js("{a: 1}"), cb.clone().into())
        .unwrap();
    assert!(r.is_undefined());
    assert!(until(5_000, || calls.borrow().len() == 1).await);
    let args = calls.borrow()[0].clone();
    assert!(args.get(0).is_null());
    assert_eq!(json(&args.get(1)), r#"{"a":1}"#);

    let (cb, calls) = recorder();
    s.emit("fail".into(), JsValue::UNDEFINED, cb.into())
        .unwrap();
    assert!(until(5_000, || calls.borrow().len() == 1).await);
    assert_eq!(error_name(&calls.borrow()[0].get(0)), "MyCustomError");
    sleep(300).await;
    assert_eq!(calls.borrow().len(), 1, "called exactly once");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn no_reply_times_out_at_ack_timeout() {
    let s = opened(&main_url(), "{}").await;
    let t0 = js_sys::Date::now();
    let e = emit(&s, "noReply", JsValue::UNDEFINED, js("{ackTimeout: 300}"))
        .await
        .unwrap_err();
    let took = js_sys::Date::now() - t0;
    assert_eq!(error_name(&e), "TimeoutError");
    assert_eq!(
        error_message(&e),
        "Event response for noReply event timed out"
    );
    assert!((290.0..1300.0).contains(&took), "took {took} ms");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn transmit_reaches_the_server() {
    let s = opened(&main_url(), "{}").await;
    let id = s.id().unwrap();
    s.transmit("note".into(), js("{a: 1}")).unwrap();
    let ok = until_async(5_000, || {
        let id = id.clone();
        async move {
            let list = control(&format!("/received?socketId={id}"), None).await;
            let arr: js_sys::Array = list.dyn_into().unwrap();
            arr.iter().any(|e| {
                get(&e, "event").as_string().as_deref() == Some("note")
                    && get(&e, "type").as_string().as_deref() == Some("transmit")
                    && json(&get(&e, "data")) == r#"{"a":1}"#
            })
        }
    })
    .await;
    assert!(ok, "the server recorded the transmit");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn server_transmit_and_invoke_reach_on_and_the_answer_returns() {
    let s = opened(&main_url(), "{}").await;
    let id = s.id().unwrap();
    let (rec, calls) = recorder();
    s.on("clientEvent".into(), rec.into()).unwrap();
    let answer: Function = js("function (data, res) { res(null, {got: data, ok: true}); }").into();
    s.on("clientProc".into(), answer.into()).unwrap();
    let failing: Function = js("function (data, res) { res('Error message'); }").into();
    s.on("clientFail".into(), failing.into()).unwrap();
    let throwing: Function = js(
        "function () { const e = new Error('boom'); e.name = 'BoomError'; e.extra = 7; throw e; }",
    )
    .into();
    s.on("clientThrow".into(), throwing.into()).unwrap();
    let promising: Function = js("async function (d) { return d * 2; }").into();
    s.on("clientAsync".into(), promising.into()).unwrap();

    control(
        "/transmit",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"clientEvent","data":{{"y":2}}}}"#
        )),
    )
    .await;
    assert!(until(5_000, || calls.borrow().len() == 1).await);
    assert_eq!(json(&calls.borrow()[0].get(0)), r#"{"y":2}"#);
    assert!(
        calls.borrow()[0].get(1).is_undefined(),
        "no res for a transmit"
    );

    let r = control(
        "/invoke",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"clientProc","data":{{"x":1}}}}"#
        )),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true,"data":{"got":{"x":1},"ok":true}}"#);
    let r = control(
        "/invoke",
        Some(&format!(r#"{{"socketId":"{id}","event":"clientFail"}}"#)),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":false,"error":"Error message"}"#);
    let r = control(
        "/invoke",
        Some(&format!(r#"{{"socketId":"{id}","event":"clientThrow"}}"#)),
    )
    .await;
    assert_eq!(
        get(&get(&r, "error"), "name").as_string().as_deref(),
        Some("BoomError")
    );
    assert_eq!(get(&get(&r, "error"), "extra").as_f64(), Some(7.0));
    let r = control(
        "/invoke",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"clientAsync","data":21}}"#
        )),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true,"data":42}"#);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn survives_three_ping_timeouts_without_traffic() {
    // short server: pingInterval 200, pingTimeout 600
    let s = opened(&short_url(), "{}").await;
    let (rec, closes) = recorder();
    s.on("close".into(), rec.into()).unwrap();
    sleep(1_900).await;
    assert_eq!(s.state(), "open");
    assert!(
        closes.borrow().is_empty(),
        "no close: {:?}",
        closes
            .borrow()
            .iter()
            .map(|a| json(&a.get(0)))
            .collect::<Vec<_>>()
    );
    let r = emit(&s, "echo", 5.into(), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(r.as_f64(), Some(5.0));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn protocol_version_1() {
    let s = opened(&v1_url(), "{protocolVersion: 1}").await;
    let r = emit(&s, "echo", "v1".into(), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(r.as_string().as_deref(), Some("v1"));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn blackholed_proxy_closes_with_4000_within_ping_timeout() {
    control("/proxy", Some(r#"{"name":"short","mode":"pass"}"#)).await;
    let s = opened(&proxy_short_url(), "{autoReconnect: false}").await;
    let disconnect = s.once("disconnect".into(), JsValue::UNDEFINED);
    control("/proxy", Some(r#"{"name":"short","mode":"blackhole"}"#)).await;
    let t0 = js_sys::Date::now();
    let ev = within(3_000, disconnect).await;
    let took = js_sys::Date::now() - t0;
    control("/proxy", Some(r#"{"name":"short","mode":"pass"}"#)).await;
    let ev = ev.expect("disconnect within pingTimeout + 1 s");
    assert_eq!(get(&ev, "code").as_f64(), Some(4000.0));
    assert_eq!(
        get(&ev, "reason").as_string().as_deref(),
        Some("Server ping timed out")
    );
    assert!(took <= 1_600.0, "took {took} ms");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn connect_timeout_closes_with_4007() {
    control("/proxy", Some(r#"{"name":"main","mode":"blackhole"}"#)).await;
    let s = open(
        &proxy_main_url(),
        "{connectTimeout: 500, autoReconnect: false}",
    );
    let r = within(3_000, s.once("connectAbort".into(), JsValue::UNDEFINED)).await;
    control("/proxy", Some(r#"{"name":"main","mode":"pass"}"#)).await;
    let ev = r.expect("connectAbort");
    assert_eq!(get(&ev, "code").as_f64(), Some(4007.0));
    assert_eq!(s.state(), "closed");
}

#[wasm_bindgen_test]
async fn connection_lost_rejects_in_flight_before_disconnect() {
    let s = opened(&main_url(), "{autoReconnect: false}").await;
    let order = js("[]");
    let mk = |tag: &str| -> Function {
        Function::new_with_args("order, tag", "return (a) => order.push([tag, a])")
            .call2(&JsValue::NULL, &order, &JsValue::from_str(tag))
            .unwrap()
            .into()
    };
    s.on("disconnect".into(), mk("disconnect").into()).unwrap();
    // The callback form settles synchronously, so its place in `order` is observable.
    s.emit("noReply".into(), JsValue::UNDEFINED, mk("callback").into())
        .unwrap();
    let id = s.id().unwrap();
    sleep(100).await;
    server_disconnect(&id, 4444, "bye from server").await;
    let arr: js_sys::Array = order.clone().unchecked_into();
    assert!(until(5_000, || arr.length() == 2).await, "both happened");
    let first: js_sys::Array = arr.get(0).unchecked_into();
    assert_eq!(
        first.get(0).as_string().as_deref(),
        Some("callback"),
        "rejected before disconnect"
    );
    let e = first.get(1);
    assert_eq!(error_name(&e), "BadConnectionError");
    assert_eq!(get(&e, "type").as_string().as_deref(), Some("disconnect"));
    assert_eq!(get(&e, "code").as_f64(), Some(4444.0));
    assert_eq!(
        get(&e, "reason").as_string().as_deref(),
        Some("bye from server")
    );
    let second: js_sys::Array = arr.get(1).unchecked_into();
    assert_eq!(second.get(0).as_string().as_deref(), Some("disconnect"));
    assert_eq!(
        json(&second.get(1)),
        r#"{"code":4444,"reason":"bye from server"}"#
    );
    sleep(200).await;
    assert_eq!(arr.length(), 2, "settled exactly once");
}

#[wasm_bindgen_test]
async fn bad_input_from_the_server_goes_to_raw_and_the_socket_stays_usable() {
    let s = opened(&main_url(), "{}").await;
    let id = s.id().unwrap();
    let (rec, raws) = recorder();
    s.on("raw".into(), rec.into()).unwrap();
    // A server event named like a local event goes to raw, not to `on('connect')`.
    let (rec2, connects) = recorder();
    s.on("connect".into(), rec2.into()).unwrap();
    control(
        "/transmit",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"connect","data":1}}"#
        )),
    )
    .await;
    assert!(until(5_000, || raws.borrow().len() == 1).await);
    assert!(raws.borrow()[0]
        .get(0)
        .as_string()
        .unwrap()
        .contains("\"connect\""));
    assert!(connects.borrow().is_empty());
    let r = emit(&s, "echo", 1.into(), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(r.as_f64(), Some(1.0));
    // Bad arguments: clear errors, no panic.
    let e = s
        .emit(5.into(), JsValue::UNDEFINED, JsValue::UNDEFINED)
        .err()
        .unwrap();
    assert_eq!(error_name(&e), "InvalidArgumentsError");
    let e = s
        .emit(
            "echo".into(),
            JsValue::UNDEFINED,
            js("{ackTimeout: 'soon'}"),
        )
        .err()
        .unwrap();
    assert_eq!(error_name(&e), "InvalidArgumentsError");
    let cyclic = js("(() => { const o = {}; o.o = o; return o; })()");
    let e = emit(&s, "echo", cyclic, JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "InvalidArgumentsError");
    let e = s.on("x".into(), 5.into()).err().unwrap();
    assert_eq!(error_name(&e), "InvalidArgumentsError");
    let e = s.disconnect(Some(1006), None).err().unwrap();
    assert_eq!(error_name(&e), "InvalidArgumentsError");
    let r = emit(&s, "echo", 2.into(), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(r.as_f64(), Some(2.0));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn events_on_once_off_and_close_payloads() {
    let s = open(&main_url(), "{autoConnect: false}");
    let (rec, connecting) = recorder();
    let remove = s.on("connecting".into(), rec.into()).unwrap();
    let (rec_close, closes) = recorder();
    s.on("close".into(), rec_close.clone().into()).unwrap();
    s.connect();
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(connecting.borrow().len(), 1);
    remove.call0(&JsValue::NULL).unwrap();
    let t = within(2_000, s.once("giveUp".into(), 50.into()))
        .await
        .unwrap_err();
    assert_eq!(error_name(&t), "TimeoutError");
    s.disconnect(Some(4321), Some("my reason".into())).unwrap();
    assert_eq!(closes.borrow().len(), 1);
    assert_eq!(
        json(&closes.borrow()[0].get(0)),
        r#"{"code":4321,"reason":"my reason"}"#
    );
    s.off("close".into(), rec_close.into());
    s.connect();
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(connecting.borrow().len(), 1, "removed listener not called");
    s.disconnect(None, None).unwrap();
    assert_eq!(closes.borrow().len(), 1, "off() removed the listener");
    // Calls while closed with no reconnect pending reject at once.
    let e = emit(&s, "echo", 1.into(), JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "BadConnectionError");
    assert_eq!(get(&e, "type").as_string().as_deref(), Some("closed"));
}

#[wasm_bindgen_test]
async fn emits_while_connecting_are_queued_and_flushed() {
    let s = open(&main_url(), "{}");
    let p1: Promise = s
        .emit("echo".into(), 1.into(), JsValue::UNDEFINED)
        .unwrap()
        .into();
    let p2: Promise = s
        .emit("echo".into(), 2.into(), JsValue::UNDEFINED)
        .unwrap()
        .into();
    assert_eq!(s.state(), "connecting");
    assert_eq!(within(5_000, p1).await.unwrap().as_f64(), Some(1.0));
    assert_eq!(within(5_000, p2).await.unwrap().as_f64(), Some(2.0));
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_dropped_socket_object_keeps_its_connection_like_a_websocket() {
    let s = opened(&main_url(), "{}").await;
    let id = s.id().unwrap();
    let (rec, calls) = recorder();
    s.on("afterDrop".into(), rec.into()).unwrap();
    drop(s); // what a GC of the JS object does
    control(
        "/transmit",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"afterDrop","data":1}}"#
        )),
    )
    .await;
    assert!(
        until(3_000, || calls.borrow().len() == 1).await,
        "listeners keep working after the object is dropped"
    );
    let sockets = control("/sockets", None).await;
    assert!(json(&sockets).contains(&id));
    // The server closing it for good releases it.
    control(
        "/disconnect",
        Some(&format!(r#"{{"socketId":"{id}","code":1000}}"#)),
    )
    .await;
}

/// The class hands its boolean options to the engine: `autoReconnect` decides whether a
/// server's close schedules a reconnect, `autoSubscribeOnConnect` whether a channel asked for
/// before the connection is subscribed once it opens (an echo answered after the handshake
/// comes after that `#subscribe`'s answer), `pingTimeoutDisabled` whether a silent server is
/// dropped (the proxy blackholes; the timeout is the server's pingTimeout, ~1 s here).
#[wasm_bindgen_test]
async fn the_boolean_options_reach_the_engine() {
    for (opts, pending) in [
        ("{autoReconnect: false}", false),
        ("{autoReconnect: true}", true),
        ("{}", true),
    ] {
        let s = opened(&main_url(), opts).await;
        let id = s.id().expect("an id");
        let d = s.once("disconnect".into(), JsValue::UNDEFINED);
        server_disconnect(&id, 4444, "bye").await;
        within(5_000, d).await.expect("disconnect");
        assert_eq!(s.pending_reconnect(), pending, "{opts}");
        s.disconnect(None, None).unwrap();
    }
    for (opts, state) in [
        (
            "{autoConnect: false, autoSubscribeOnConnect: false}",
            "pending",
        ),
        ("{autoConnect: false}", "subscribed"),
    ] {
        let s = open(&main_url(), opts);
        let name = format!("boolopt-{}", js_sys::Math::random());
        let ch = s
            .subscribe(name.as_str().into(), JsValue::UNDEFINED)
            .unwrap();
        let c = s.once("connect".into(), JsValue::UNDEFINED);
        s.connect();
        within(5_000, c).await.expect("connect");
        let r = emit(&s, "echo", "after".into(), JsValue::UNDEFINED).await;
        assert_eq!(r.unwrap().as_string().as_deref(), Some("after"));
        assert_eq!(
            get(&ch, "state").as_string().as_deref(),
            Some(state),
            "{opts}"
        );
        s.disconnect(None, None).unwrap();
    }
    control("/proxy", Some(r#"{"name":"short","mode":"pass"}"#)).await;
    for (opts, dropped) in [
        ("{autoReconnect: false, pingTimeoutDisabled: true}", false),
        ("{autoReconnect: false, pingTimeoutDisabled: false}", true),
    ] {
        let s = opened(&proxy_short_url(), opts).await;
        let d = s.once("disconnect".into(), JsValue::UNDEFINED);
        control("/proxy", Some(r#"{"name":"short","mode":"blackhole"}"#)).await;
        let r = within(3_000, d).await;
        control("/proxy", Some(r#"{"name":"short","mode":"pass"}"#)).await;
        assert_eq!(r.is_ok(), dropped, "{opts}");
        s.disconnect(None, None).unwrap();
    }
}
