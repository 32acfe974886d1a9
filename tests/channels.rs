//! Browser tests of channels and pub/sub (the JS `Socket` and `Channel` classes) against the
//! real socketcluster-server 20 fixtures (`tests/fixtures`), plus the failure-handling
//! tutorial's client code run as written (`tests/js/channels.js`).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::{Array, Function, Object, Promise};
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/js/channels.js")]
extern "C" {
    /// `for await` over `channel` until `n` items arrived or the channel ended.
    fn collect(channel: &JsValue, n: u32) -> Promise;
    /// A listener that pushes its first argument onto `list`.
    fn pusher(list: &Array) -> Function;
    /// The tutorial's client code; `form` is `'success'` or `'error'`.
    #[wasm_bindgen(js_name = runTutorial)]
    fn run_tutorial(socket: &JsValue, form: &str) -> Promise;
}

// ---- helpers -----------------------------------------------------------------------------

fn open(url: &str, opts: &str) -> JsSocket {
    connect(url, js(opts)).expect("connect")
}

async fn opened(opts: &str) -> JsSocket {
    let s = open(&main_url(), opts);
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect event");
    s
}

/// Calls `obj[method](...args)`.
fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(obj, method)
        .dyn_into()
        .unwrap_or_else(|_| panic!("{method} is a method"));
    let a = Array::new();
    for x in args {
        a.push(x);
    }
    f.apply(obj, &a)
}

fn state(ch: &JsValue) -> String {
    get(ch, "state").as_string().unwrap_or_default()
}

fn subscribe(s: &JsSocket, name: &str) -> JsValue {
    s.subscribe(name.into(), JsValue::UNDEFINED)
        .expect("subscribe")
}

async fn subscribed(s: &JsSocket, name: &str) -> JsValue {
    let ch = subscribe(s, name);
    assert!(
        until(5_000, || state(&ch) == "subscribed").await,
        "{name} subscribed"
    );
    ch
}

/// A JS array and a listener that pushes its first argument onto it.
fn list() -> (Array, Function) {
    let a = Array::new();
    let f = pusher(&a);
    (a, f)
}

async fn publish_from_server(channel: &str, data: &str) {
    let r = control(
        "/publish",
        Some(&format!(r#"{{"channel":"{channel}","data":{data}}}"#)),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true}"#);
}

async fn server_transmit(id: &str, event: &str, data: &str) {
    let r = control(
        "/transmit",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"{event}","data":{data}}}"#
        )),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true}"#, "{event} {data}");
}

/// What the server recorded from socket `id`.
async fn received(id: &str) -> Vec<JsValue> {
    let r = control(&format!("/received?socketId={id}"), None).await;
    r.dyn_into::<Array>().expect("an array").to_vec()
}

fn frames<'a>(log: &'a [JsValue], event: &'a str) -> impl Iterator<Item = &'a JsValue> + 'a {
    log.iter()
        .filter(move |e| get(e, "event").as_string().as_deref() == Some(event))
}

/// Waits until the server recorded a frame of socket `id` matching `pred`.
async fn server_saw(id: &str, pred: impl Fn(&JsValue) -> bool) -> bool {
    let pred = &pred;
    until_async(
        5_000,
        move || async move { received(id).await.iter().any(pred) },
    )
    .await
}

async fn subscribers(channel: &str) -> Vec<String> {
    let r = control(&format!("/subscribers?channel={channel}"), None).await;
    let ids: Array = get(&r, "socketIds").dyn_into().expect("socketIds");
    assert_eq!(get(&r, "count").as_f64(), Some(ids.length() as f64));
    ids.iter().filter_map(|v| v.as_string()).collect()
}

fn strings(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn numbers(a: &JsValue) -> Vec<f64> {
    let a: Array = a.clone().dyn_into().expect("an array");
    a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()
}

// ---- subscribe ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn subscribe_sends_numeric_cid_and_ends_subscribed() {
    let s = opened("{}").await;
    let id = s.id().unwrap();
    let (sock_subs, on_sock_sub) = list();
    s.on("subscribe".into(), on_sock_sub.into()).unwrap();
    let ch = subscribe(&s, "ch-sub");
    assert_eq!(get(&ch, "name").as_string().as_deref(), Some("ch-sub"));
    assert_eq!(state(&ch), "pending", "pending until the server's ack");
    let (ch_subs, on_ch_sub) = list();
    call(&ch, "on", &["subscribe".into(), on_ch_sub.into()]).unwrap();
    let (changes, on_change) = list();
    call(
        &ch,
        "on",
        &["subscribeStateChange".into(), on_change.into()],
    )
    .unwrap();

    assert!(until(5_000, || state(&ch) == "subscribed").await);
    assert_eq!(json(&sock_subs), r#"["ch-sub"]"#);
    assert_eq!(json(&ch_subs), r#"["ch-sub"]"#);
    assert_eq!(changes.length(), 1);
    let c = changes.get(0);
    assert_eq!(get(&c, "oldState").as_string().as_deref(), Some("pending"));
    assert_eq!(
        get(&c, "newState").as_string().as_deref(),
        Some("subscribed")
    );
    assert_eq!(strings(&subscribers("ch-sub").await), vec![id.as_str()]);

    let log = received(&id).await;
    let subs: Vec<_> = frames(&log, "#subscribe").collect();
    assert_eq!(
        subs.len(),
        1,
        "one #subscribe: {}",
        json(&Array::from_iter(log.iter()))
    );
    assert_eq!(get(subs[0], "type").as_string().as_deref(), Some("invoke"));
    assert!(get(subs[0], "cid").as_f64().is_some(), "numeric cid");
    assert_eq!(json(&get(subs[0], "data")), r#"{"channel":"ch-sub"}"#);

    // The same object for the same name while it exists.
    let again = subscribe(&s, "ch-sub");
    assert!(Object::is(&again, &ch));
    assert!(Object::is(&s.channel("ch-sub".into()).unwrap(), &ch));
    assert_eq!(strings(&s.subscriptions(None)), vec!["ch-sub"]);
    // Subscribing again sent nothing more.
    sleep(200).await;
    assert_eq!(frames(&received(&id).await, "#subscribe").count(), 1);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn once_subscribe_resolves_with_the_channel_name() {
    let s = opened("{}").await;
    let ch = subscribe(&s, "ch-once");
    let p: Promise = call(&ch, "once", &["subscribe".into()])
        .unwrap()
        .dyn_into()
        .unwrap();
    let name = within(5_000, p).await.expect("subscribe event");
    assert_eq!(name.as_string().as_deref(), Some("ch-once"));
    // With a timeout, on an event that does not come.
    let p: Promise = call(&ch, "once", &["kickOut".into(), 50.into()])
        .unwrap()
        .dyn_into()
        .unwrap();
    let e = within(2_000, p).await.unwrap_err();
    assert_eq!(error_name(&e), "TimeoutError");
    s.disconnect(None, None).unwrap();
}

/// Channel names with quotes, backslashes, control characters and non-ASCII come back from
/// `subscriptions()` exactly as subscribed.
#[wasm_bindgen_test]
async fn subscriptions_return_odd_names_exactly() {
    let s = open(&main_url(), "{autoConnect: false}");
    let names = [
        "q\"uote",
        "back\\slash",
        "ctl\u{1}\n\t",
        "Zo\u{eb} \u{1F600} \u{2028}",
        "",
    ];
    for n in names {
        s.subscribe(n.into(), JsValue::UNDEFINED).unwrap();
    }
    let mut got = s.subscriptions(Some(true));
    got.sort();
    let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn subscriptions_with_and_without_pending() {
    let s = open(&main_url(), "{}");
    assert_eq!(s.state(), "connecting");
    let a = subscribe(&s, "subs-a");
    let _b = s
        .subscribe("subs-b".into(), js("{priority: 5, data: {x: 1}}"))
        .unwrap();
    assert_eq!(state(&a), "pending");
    assert!(
        s.subscriptions(None).is_empty(),
        "pending ones are left out"
    );
    assert!(s.subscriptions(Some(false)).is_empty());
    let mut all = s.subscriptions(Some(true));
    all.sort();
    assert_eq!(strings(&all), vec!["subs-a", "subs-b"]);
    assert!(until(5_000, || s.subscriptions(None).len() == 2).await);
    // Higher priority first; `data` is passed on.
    let log = received(&s.id().unwrap()).await;
    let subs: Vec<String> = frames(&log, "#subscribe")
        .map(|f| json(&get(f, "data")))
        .collect();
    assert_eq!(
        subs,
        vec![
            r#"{"channel":"subs-b","data":{"x":1}}"#,
            r#"{"channel":"subs-a"}"#
        ]
    );
    s.unsubscribe("subs-a".into()).unwrap();
    assert_eq!(strings(&s.subscriptions(Some(true))), vec!["subs-b"]);
    s.disconnect(None, None).unwrap();
}

// ---- publish -----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn one_socket_publishes_and_the_others_watcher_receives() {
    let a = opened("{}").await;
    let b = opened("{}").await;
    let ch = subscribed(&a, "news-2").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();

    let p: Promise = b
        .publish("news-2".into(), js("{x: 1}"), JsValue::UNDEFINED)
        .unwrap()
        .dyn_into()
        .unwrap();
    let r = within(5_000, p).await.expect("publish acked");
    assert!(r.is_undefined(), "resolves with nothing");
    assert!(until(5_000, || got.length() == 1).await);
    assert_eq!(json(&got.get(0)), r#"{"x":1}"#);

    // transmitPublish: no cid, still delivered.
    b.transmit_publish("news-2".into(), "t".into()).unwrap();
    assert!(until(5_000, || got.length() == 2).await);
    assert_eq!(got.get(1).as_string().as_deref(), Some("t"));
    // The Channel's own publish and transmitPublish, from the subscriber itself (echoed).
    let p: Promise = call(&ch, "publish", &[3.into()])
        .unwrap()
        .dyn_into()
        .unwrap();
    within(5_000, p).await.expect("channel.publish acked");
    call(&ch, "transmitPublish", &[4.into()]).unwrap();
    assert!(until(5_000, || got.length() == 4).await);
    assert_eq!(json(&got), r#"[{"x":1},"t",3,4]"#);

    let log = received(&b.id().unwrap()).await;
    let pubs: Vec<_> = frames(&log, "#publish").collect();
    assert_eq!(pubs.len(), 2);
    assert_eq!(get(pubs[0], "type").as_string().as_deref(), Some("invoke"));
    assert!(get(pubs[0], "cid").as_f64().is_some());
    assert_eq!(
        json(&get(pubs[0], "data")),
        r#"{"channel":"news-2","data":{"x":1}}"#
    );
    assert_eq!(
        get(pubs[1], "type").as_string().as_deref(),
        Some("transmit")
    );
    assert!(get(pubs[1], "cid").is_undefined());
    assert_eq!(
        json(&get(pubs[1], "data")),
        r#"{"channel":"news-2","data":"t"}"#
    );
    let log = received(&a.id().unwrap()).await;
    let kinds: Vec<String> = frames(&log, "#publish")
        .map(|f| get(f, "type").as_string().unwrap_or_default())
        .collect();
    assert_eq!(kinds, vec!["invoke", "transmit"]);
    a.disconnect(None, None).unwrap();
    b.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn readonly_publish_is_rejected_with_the_servers_error() {
    let s = opened("{}").await;
    // Promise form
    let p: Promise = s
        .publish("readonly".into(), "x".into(), JsValue::UNDEFINED)
        .unwrap()
        .dyn_into()
        .unwrap();
    let e = within(5_000, p).await.unwrap_err();
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(error_name(&e), "PublishForbiddenError");
    assert_eq!(error_message(&e), "Publish to readonly is not allowed");
    // Callback form: called once, with the error.
    let (cb, calls) = recorder();
    let r = s.publish("readonly".into(), "x".into(), cb.into()).unwrap();
    assert!(r.is_undefined());
    assert!(until(5_000, || calls.borrow().len() == 1).await);
    assert_eq!(
        error_name(&calls.borrow()[0].get(0)),
        "PublishForbiddenError"
    );
    // Callback form, success: `cb(null)`.
    let (cb, ok_calls) = recorder();
    s.publish("writable".into(), "x".into(), cb.into()).unwrap();
    assert!(until(5_000, || ok_calls.borrow().len() == 1).await);
    assert!(ok_calls.borrow()[0].get(0).is_null());
    // Channel.publish rejects the same way.
    let ch = s.channel("readonly".into()).unwrap();
    let p: Promise = call(&ch, "publish", &["y".into()])
        .unwrap()
        .dyn_into()
        .unwrap();
    let e = within(5_000, p).await.unwrap_err();
    assert_eq!(error_name(&e), "PublishForbiddenError");
    sleep(200).await;
    assert_eq!(calls.borrow().len(), 1, "callback called exactly once");
    assert_eq!(ok_calls.borrow().len(), 1, "callback called exactly once");
    s.disconnect(None, None).unwrap();
}

// ---- refusal and kick-out ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn forbidden_subscribe_fails_with_the_servers_error_and_no_retry() {
    let s = opened("{}").await;
    let id = s.id().unwrap();
    let (on_sock_fail, sock_fails) = recorder();
    s.on("subscribeFail".into(), on_sock_fail.into()).unwrap();
    let ch = subscribe(&s, "forbidden");
    let (on_fail, fails) = recorder();
    call(&ch, "on", &["subscribeFail".into(), on_fail.into()]).unwrap();
    let (subs, on_sub) = list();
    call(&ch, "on", &["subscribe".into(), on_sub.into()]).unwrap();
    // A `for await` loop over a refused channel ends (the channel is gone), it does not hang.
    let loop_done = collect(&ch, 1);

    assert!(
        until(5_000, || fails.borrow().len() == 1).await,
        "subscribeFail"
    );
    let args = fails.borrow()[0].clone();
    let e = args.get(0);
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(error_name(&e), "SubscribeForbiddenError");
    assert_eq!(error_message(&e), "You cannot subscribe to forbidden");
    assert_eq!(args.get(1).as_string().as_deref(), Some("forbidden"));
    assert_eq!(sock_fails.borrow().len(), 1);
    assert_eq!(
        error_name(&sock_fails.borrow()[0].get(0)),
        "SubscribeForbiddenError"
    );
    assert_eq!(
        sock_fails.borrow()[0].get(1).as_string().as_deref(),
        Some("forbidden")
    );
    assert_eq!(state(&ch), "unsubscribed");
    assert!(s.subscriptions(Some(true)).is_empty());
    assert!(subscribers("forbidden").await.is_empty());

    let looped = within(5_000, loop_done).await.expect("the loop ended");
    assert_eq!(json(&looped), "[]");
    // No retry (not even after a while), no subscribe event.
    sleep(400).await;
    assert_eq!(frames(&received(&id).await, "#subscribe").count(), 1);
    assert_eq!(subs.length(), 0);
    assert_eq!(fails.borrow().len(), 1);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn kick_out_removes_the_channel_and_sends_nothing_back() {
    let s = opened("{}").await;
    let id = s.id().unwrap();
    let ch = subscribed(&s, "k1").await;
    let (on_kick, kicks) = recorder();
    call(&ch, "on", &["kickOut".into(), on_kick.into()]).unwrap();
    let (sock_kicks, on_sock_kick) = list();
    s.on("kickOut".into(), on_sock_kick.into()).unwrap();
    let (unsubs, on_unsub) = list();
    call(&ch, "on", &["unsubscribe".into(), on_unsub.into()]).unwrap();
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    let before = received(&id).await.len();

    let r = control(
        "/kickOut",
        Some(&format!(
            r#"{{"socketId":"{id}","channel":"k1","message":"kicked for test"}}"#
        )),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true}"#);
    assert!(until(5_000, || kicks.borrow().len() == 1).await, "kickOut");
    let args = kicks.borrow()[0].clone();
    assert_eq!(args.get(0).as_string().as_deref(), Some("kicked for test"));
    assert_eq!(args.get(1).as_string().as_deref(), Some("k1"));
    assert_eq!(
        json(&sock_kicks),
        r#"[{"channel":"k1","message":"kicked for test"}]"#
    );
    assert_eq!(json(&unsubs), r#"["k1"]"#);
    assert_eq!(state(&ch), "unsubscribed");
    assert!(s.subscriptions(Some(true)).is_empty());
    assert!(subscribers("k1").await.is_empty());

    // The client sends nothing back (no #unsubscribe), and later publishes are not delivered.
    publish_from_server("k1", "1").await;
    sleep(300).await;
    let log = received(&id).await;
    assert_eq!(
        log.len(),
        before,
        "nothing sent: {}",
        json(&Array::from_iter(log.iter()))
    );
    assert_eq!(got.length(), 0);
    assert_eq!(s.state(), "open");
    s.disconnect(None, None).unwrap();
}

// ---- reconnects --------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn server_disconnect_then_resubscription_in_priority_order_and_same_watcher() {
    let s = opened("{autoReconnectOptions: {initialDelay: 100, jitter: 0}}").await;
    let old_id = s.id().unwrap();
    let low = subscribe(&s, "rs-low");
    let high = s.subscribe("rs-high".into(), js("{priority: 1}")).unwrap();
    assert!(
        until(5_000, || state(&low) == "subscribed"
            && state(&high) == "subscribed")
        .await
    );
    let (got, watcher) = list();
    call(&low, "watch", &[watcher.into()]).unwrap();
    let (changes, on_change) = list();
    call(
        &low,
        "on",
        &["subscribeStateChange".into(), on_change.into()],
    )
    .unwrap();
    let (sock_unsubs, on_sock_unsub) = list();
    s.on("unsubscribe".into(), on_sock_unsub.into()).unwrap();
    // A `for await` loop across the reconnect.
    let loop_done = collect(&low, 2);
    publish_from_server("rs-low", r#""before""#).await;
    assert!(until(5_000, || got.length() == 1).await);

    let reconnected = s.once("connect".into(), JsValue::UNDEFINED);
    let disconnected = s.once("disconnect".into(), JsValue::UNDEFINED);
    server_disconnect(&old_id, 4444, "bye from server").await;
    let ev = within(5_000, disconnected).await.expect("disconnect");
    assert_eq!(get(&ev, "code").as_f64(), Some(4444.0));
    // An emit made during the outage waits in the outbox and goes out after the #subscribes.
    assert!(s.pending_reconnect());
    let queued: Promise = s
        .emit("echo".into(), "queued".into(), JsValue::UNDEFINED)
        .unwrap()
        .dyn_into()
        .unwrap();
    within(10_000, reconnected).await.expect("reconnected");
    let id = s.id().unwrap();
    assert_ne!(id, old_id);
    assert!(
        until(5_000, || state(&low) == "subscribed"
            && state(&high) == "subscribed")
        .await
    );
    // Both went pending on the close, and came back.
    let states: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                "{}>{}",
                json(&get(&c, "oldState")),
                json(&get(&c, "newState"))
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![r#""subscribed">"pending""#, r#""pending">"subscribed""#]
    );
    let mut un: Vec<String> = sock_unsubs.iter().filter_map(|v| v.as_string()).collect();
    un.sort();
    assert_eq!(strings(&un), vec!["rs-high", "rs-low"]);
    // Priority order on the new connection.
    let log = received(&id).await;
    let order: Vec<String> = frames(&log, "#subscribe")
        .map(|f| json(&get(&get(f, "data"), "channel")))
        .collect();
    assert_eq!(order, vec![r#""rs-high""#, r#""rs-low""#]);
    let at = |event: &str| {
        log.iter()
            .position(|f| get(f, "event").as_string().as_deref() == Some(event))
    };
    assert!(
        at("#subscribe") < at("echo"),
        "{}",
        json(&Array::from_iter(log.iter()))
    );
    let r = within(5_000, queued).await.expect("queued emit answered");
    assert_eq!(r.as_string().as_deref(), Some("queued"));
    let mut subs = subscribers("rs-low").await;
    subs.retain(|x| *x == id);
    assert_eq!(subs.len(), 1);

    // The same watcher and the same `for await` loop receive a publish made after the reconnect.
    publish_from_server("rs-low", r#""after""#).await;
    assert!(until(5_000, || got.length() == 2).await);
    assert_eq!(json(&got), r#"["before","after"]"#);
    let looped = within(5_000, loop_done).await.expect("for await got both");
    assert_eq!(json(&looped), r#"["before","after"]"#);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn wait_for_auth_channels_stay_pending_until_authenticated() {
    let s = opened("{authStorage: 'memory'}").await;
    let id = s.id().unwrap();
    let secret = s
        .subscribe("secret".into(), js("{waitForAuth: true}"))
        .unwrap();
    let open_ch = subscribed(&s, "open-ch").await;
    sleep(300).await;
    assert_eq!(state(&secret), "pending", "held back while unauthenticated");
    assert_eq!(state(&open_ch), "subscribed");
    let log = received(&id).await;
    let sent: Vec<String> = frames(&log, "#subscribe")
        .map(|f| json(&get(f, "data")))
        .collect();
    assert_eq!(sent, vec![r#"{"channel":"open-ch"}"#]);
    assert_eq!(strings(&s.subscriptions(Some(true))).len(), 2);

    let p: Promise = s
        .emit(
            "login".into(),
            js("{username: 'alice'}"),
            JsValue::UNDEFINED,
        )
        .unwrap()
        .dyn_into()
        .unwrap();
    within(5_000, p).await.expect("login");
    assert!(until(5_000, || state(&secret) == "subscribed").await);
    let log = received(&id).await;
    let sent: Vec<String> = frames(&log, "#subscribe")
        .map(|f| json(&get(f, "data")))
        .collect();
    assert_eq!(
        sent,
        vec![
            r#"{"channel":"open-ch"}"#,
            r#"{"channel":"secret","waitForAuth":true}"#
        ]
    );
    s.disconnect(None, None).unwrap();
}

// ---- volume and order --------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_thousand_publishes_arrive_in_order_at_a_watcher_and_a_for_await_loop() {
    const N: u32 = 1_000;
    let a = opened("{}").await;
    let b = opened("{}").await;
    let ch = subscribed(&a, "bulk").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    let looped = collect(&ch, N);

    let acks = Array::new();
    for i in 0..N {
        acks.push(
            &b.publish("bulk".into(), i.into(), JsValue::UNDEFINED)
                .unwrap(),
        );
    }
    within(30_000, Promise::all(&acks))
        .await
        .expect("all acked");
    assert!(
        until(20_000, || got.length() == N).await,
        "watcher got {}",
        got.length()
    );
    let want: Vec<f64> = (0..N).map(f64::from).collect();
    assert_eq!(numbers(&got), want, "watcher, in order");
    let looped = within(20_000, looped).await.expect("for await loop done");
    assert_eq!(numbers(&looped), want, "for await, in order");
    sleep(100).await;
    assert_eq!(got.length(), N, "nothing extra");
    a.disconnect(None, None).unwrap();
    b.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn messages_without_data_arrive_as_undefined_and_null_stays_null() {
    let a = opened("{}").await;
    let ch = subscribed(&a, "empty").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    for data in [JsValue::UNDEFINED, JsValue::NULL, JsValue::from(0)] {
        let p: Promise = a
            .publish("empty".into(), data, JsValue::UNDEFINED)
            .unwrap()
            .unchecked_into();
        within(5_000, p).await.expect("acked");
    }
    assert!(until(5_000, || got.length() == 3).await);
    assert!(got.get(0).is_undefined(), "no data → undefined");
    assert!(got.get(1).is_null(), "null stays null");
    assert_eq!(got.get(2).as_f64(), Some(0.0));
    a.disconnect(None, None).unwrap();
}

/// A message alone in its frame is sliced out of the frame the page holds (when the frame is
/// ASCII and the channel name has no escapes); the others come out of wasm. Both arrive the same.
#[wasm_bindgen_test]
async fn channel_messages_arrive_intact_however_their_frame_is_read() {
    let a = opened("{}").await;
    let quoted = "q\"uo\\te"; // JSON-escaped in the frame
    let plain = subscribed(&a, "in/tact").await;
    let odd = subscribed(&a, quoted).await;
    let (got, watcher) = list();
    call(&plain, "watch", &[watcher.clone().into()]).unwrap();
    call(&odd, "watch", &[watcher.into()]).unwrap();
    // (the frame buffer grows with the first frames; a 400-unit frame leaves room for 3 bytes
    // a unit of it, which 700 'é' fit by units but not by bytes: the page asks for more room)
    let long = format!(r#""{}""#, "a".repeat(400));
    let wide = format!(r#""{}""#, "é".repeat(700));
    let sent = [
        ("in/tact", r#"{"a":[1,"x",{"b":null}],"c":"\"q\""}"#),
        ("in/tact", r#""é😀 non-ASCII""#),
        (r#"q\"uo\\te"#, r#"[2]"#),
        ("in/tact", "3"),
        ("in/tact", &long),
        ("in/tact", &wide),
    ];
    for (channel, data) in sent {
        publish_from_server(channel, data).await;
    }
    let n = sent.len() as u32;
    assert!(
        until(5_000, || got.length() == n).await,
        "{} of {n}",
        got.length()
    );
    let text = |i: u32| String::from(js_sys::JSON::stringify(&got.get(i)).unwrap());
    let want: Vec<String> = sent.iter().map(|(_, d)| d.to_string()).collect();
    assert_eq!((0..n).map(text).collect::<Vec<_>>(), want);
    a.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn batched_frames_arrive_in_order_at_a_watcher_and_a_for_await_loop() {
    // The server sends JSON arrays of 100 `#publish` packets per WebSocket frame.
    const N: u32 = 1_000;
    let a = opened("{}").await;
    let ch = subscribed(&a, "batched").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    let looped = collect(&ch, N);
    let r = control(
        "/bench/blast",
        Some(r#"{"channel":"batched","count":1000,"perFrame":100}"#),
    )
    .await;
    assert_eq!(get(&r, "frames").as_f64(), Some(10.0));
    assert!(
        until(10_000, || got.length() == N).await,
        "watcher got {}",
        got.length()
    );
    let ns: Vec<f64> = got.iter().map(|m| get(&m, "n").as_f64().unwrap()).collect();
    let want: Vec<f64> = (0..N).map(f64::from).collect();
    assert_eq!(ns, want, "watcher, in order");
    let looped: Array = within(10_000, looped)
        .await
        .expect("loop done")
        .unchecked_into();
    let ns: Vec<f64> = looped
        .iter()
        .map(|m| get(&m, "n").as_f64().unwrap())
        .collect();
    assert_eq!(ns, want, "for await, in order");
    a.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_for_await_consumer_that_falls_behind_loses_the_oldest_messages() {
    // The bound is 10 000 per loop (sockline::js::socket::ITERATOR_BUFFER).
    const N: u32 = 10_010;
    let a = opened("{}").await;
    let b = opened("{}").await;
    let ch = subscribed(&a, "flood").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    // An iterator nobody reads from yet: everything buffers.
    let make: Function = js_sys::Reflect::get(&ch, &js_sys::Symbol::async_iterator())
        .unwrap()
        .dyn_into()
        .unwrap();
    let it = make.call0(&ch).unwrap();
    for i in 0..N {
        b.transmit_publish("flood".into(), i.into()).unwrap();
    }
    assert!(
        until(30_000, || got.length() == N).await,
        "watcher got {}",
        got.length()
    );
    assert_eq!(get(&it, "dropped").as_f64(), Some(10.0));
    let next: Promise = call(&it, "next", &[]).unwrap().dyn_into().unwrap();
    let first = within(1_000, next).await.unwrap();
    assert_eq!(
        json(&first),
        r#"{"value":10,"done":false}"#,
        "the oldest went first"
    );
    a.disconnect(None, None).unwrap();
    b.disconnect(None, None).unwrap();
}

// ---- unsubscribe, channel(), unwatch -----------------------------------------------------

#[wasm_bindgen_test]
async fn unsubscribe_stops_delivery_and_sends_unsubscribe_without_cid() {
    let s = opened("{}").await;
    let id = s.id().unwrap();
    let ch = subscribed(&s, "u1").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    let (sock_unsubs, on_sock_unsub) = list();
    s.on("unsubscribe".into(), on_sock_unsub.into()).unwrap();
    let (unsubs, on_unsub) = list();
    call(&ch, "on", &["unsubscribe".into(), on_unsub.into()]).unwrap();
    let loop_done = collect(&ch, 5);
    publish_from_server("u1", "1").await;
    assert!(until(5_000, || got.length() == 1).await);

    call(&ch, "unsubscribe", &[]).unwrap();
    // Removed at once.
    assert_eq!(state(&ch), "unsubscribed");
    assert!(s.subscriptions(Some(true)).is_empty());
    assert_eq!(json(&sock_unsubs), r#"["u1"]"#);
    assert_eq!(json(&unsubs), r#"["u1"]"#);
    assert!(
        server_saw(&id, |f| {
            get(f, "event").as_string().as_deref() == Some("#unsubscribe")
                && get(f, "type").as_string().as_deref() == Some("transmit")
                && get(f, "cid").is_undefined()
                && get(f, "data").as_string().as_deref() == Some("u1")
        })
        .await,
        "#unsubscribe sent as a transmit"
    );
    assert!(subscribers("u1").await.is_empty());
    // The `for await` loop ends with what it had.
    let looped = within(5_000, loop_done).await.expect("loop ended");
    assert_eq!(json(&looped), "[1]");
    publish_from_server("u1", "2").await;
    sleep(300).await;
    assert_eq!(got.length(), 1, "no delivery after unsubscribe");

    // Subscribing again: the watcher is still there; socket.unsubscribe(name) works too.
    let again = subscribed(&s, "u1").await;
    assert!(
        Object::is(&again, &ch),
        "same object while it has listeners"
    );
    publish_from_server("u1", "3").await;
    assert!(until(5_000, || got.length() == 2).await);
    s.unsubscribe("u1".into()).unwrap();
    assert_eq!(state(&ch), "unsubscribed");
    // Unsubscribing an unknown channel is a no-op.
    s.unsubscribe("never-subscribed".into()).unwrap();
    let idr = id.as_str();
    assert!(
        until_async(5_000, move || async move {
            frames(&received(idr).await, "#unsubscribe").count() == 2
        })
        .await
    );
    sleep(200).await;
    assert_eq!(frames(&received(&id).await, "#unsubscribe").count(), 2);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn unsubscribe_while_closed_sends_nothing() {
    let s = open(&main_url(), "{autoConnect: false}");
    let ch = subscribe(&s, "u-closed");
    assert_eq!(state(&ch), "pending");
    call(&ch, "unsubscribe", &[]).unwrap();
    assert_eq!(state(&ch), "unsubscribed");
    s.connect();
    within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    sleep(200).await;
    let log = received(&s.id().unwrap()).await;
    assert_eq!(frames(&log, "#subscribe").count(), 0);
    assert_eq!(frames(&log, "#unsubscribe").count(), 0);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn channel_gives_the_object_without_subscribing() {
    let s = opened("{}").await;
    let id = s.id().unwrap();
    let ch = s.channel("later".into()).unwrap();
    assert_eq!(get(&ch, "name").as_string().as_deref(), Some("later"));
    assert_eq!(state(&ch), "unsubscribed");
    assert!(Object::is(&s.channel("later".into()).unwrap(), &ch));
    assert!(s.subscriptions(Some(true)).is_empty());
    // A watcher added before subscribing keeps working once subscribed.
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    sleep(100).await;
    assert_eq!(
        frames(&received(&id).await, "#subscribe").count(),
        0,
        "nothing sent"
    );
    publish_from_server("later", "0").await;
    let sub = subscribe(&s, "later");
    assert!(Object::is(&sub, &ch));
    assert!(until(5_000, || state(&ch) == "subscribed").await);
    publish_from_server("later", "1").await;
    assert!(until(5_000, || got.length() == 1).await);
    assert_eq!(json(&got), "[1]");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_channel_object_kept_after_its_channel_ended_still_works() {
    let s = opened("{}").await;
    // Removed while nobody listened; listeners added to the old object afterwards must still
    // hear the channel once it is subscribed again, whichever object `subscribe` returns.
    let old = subscribed(&s, "stale").await;
    call(&old, "unsubscribe", &[]).unwrap();
    assert_eq!(state(&old), "unsubscribed");
    let (got, watcher) = list();
    call(&old, "watch", &[watcher.into()]).unwrap();
    let (subs, on_sub) = list();
    call(&old, "on", &["subscribe".into(), on_sub.into()]).unwrap();
    let loop_done = collect(&old, 1);
    let again = subscribed(&s, "stale").await;
    assert!(Object::is(&s.channel("stale".into()).unwrap(), &again));
    assert_eq!(state(&old), "subscribed");
    assert_eq!(json(&subs), r#"["stale"]"#);
    publish_from_server("stale", "1").await;
    assert!(
        until(5_000, || got.length() == 1).await,
        "the old object's watcher"
    );
    let looped = within(5_000, loop_done)
        .await
        .expect("the old object's for await");
    assert_eq!(json(&looped), "[1]");

    // The same after a refusal, with the new object created first.
    let refused = subscribe(&s, "forbidden");
    assert!(until(5_000, || state(&refused) == "unsubscribed").await);
    let fresh = subscribe(&s, "forbidden");
    let (fails, on_fail) = list();
    call(&refused, "on", &["subscribeFail".into(), on_fail.into()]).unwrap();
    assert!(
        until(5_000, || fails.length() == 1).await,
        "the old object's listener"
    );
    assert_eq!(state(&fresh), "unsubscribed");
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn unwatch_one_or_all() {
    let s = opened("{}").await;
    let ch = subscribed(&s, "uw").await;
    let (a, wa) = list();
    let (b, wb) = list();
    call(&ch, "watch", &[wa.clone().into()]).unwrap();
    call(&ch, "watch", &[wb.into()]).unwrap();
    publish_from_server("uw", "1").await;
    assert!(until(5_000, || a.length() == 1 && b.length() == 1).await);
    call(&ch, "unwatch", &[wa.into()]).unwrap();
    publish_from_server("uw", "2").await;
    assert!(until(5_000, || b.length() == 2).await);
    assert_eq!(a.length(), 1, "unwatched");
    call(&ch, "unwatch", &[]).unwrap();
    publish_from_server("uw", "3").await;
    sleep(300).await;
    assert_eq!((a.length(), b.length()), (1, 2), "all unwatched");
    assert_eq!(state(&ch), "subscribed", "unwatch does not unsubscribe");
    // off() on channel events
    let (subs, on_sub) = list();
    let remove: Function = call(&ch, "on", &["unsubscribe".into(), on_sub.into()])
        .unwrap()
        .dyn_into()
        .unwrap();
    remove.call0(&JsValue::NULL).unwrap();
    call(&ch, "unsubscribe", &[]).unwrap();
    assert_eq!(subs.length(), 0, "removed listener not called");
    s.disconnect(None, None).unwrap();
}

// ---- bad input ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn bad_input_no_panic_and_the_socket_stays_usable() {
    let s = opened("{}").await;
    let id = s.id().unwrap();
    // User input: a channel name that is not a string.
    for bad in [
        JsValue::from(5),
        JsValue::NULL,
        JsValue::UNDEFINED,
        js("{}"),
    ] {
        let e = s
            .subscribe(bad.clone(), JsValue::UNDEFINED)
            .expect_err("subscribe throws");
        assert_eq!(error_name(&e), "InvalidArgumentsError");
        let e = s.channel(bad.clone()).expect_err("channel throws");
        assert_eq!(error_name(&e), "InvalidArgumentsError");
        let e = s
            .publish(bad.clone(), 1.into(), JsValue::UNDEFINED)
            .expect_err("publish throws");
        assert_eq!(error_name(&e), "InvalidArgumentsError");
        let e = s
            .transmit_publish(bad.clone(), 1.into())
            .expect_err("transmitPublish throws");
        assert_eq!(error_name(&e), "InvalidArgumentsError");
        let e = s.unsubscribe(bad).expect_err("unsubscribe throws");
        assert_eq!(error_name(&e), "InvalidArgumentsError");
    }
    for opts in ["5", "{priority: 'high'}", "{waitForAuth: 'yes'}"] {
        let e = s.subscribe("ok-name".into(), js(opts)).expect_err(opts);
        assert_eq!(error_name(&e), "InvalidArgumentsError", "{opts}");
    }
    assert!(s.subscriptions(Some(true)).is_empty(), "nothing half-made");

    let ch = subscribed(&s, "bad-in").await;
    let (got, watcher) = list();
    call(&ch, "watch", &[watcher.into()]).unwrap();
    let (kicks, on_kick) = list();
    s.on("kickOut".into(), on_kick.into()).unwrap();
    let e = call(&ch, "watch", &[5.into()]).expect_err("watch(5) throws");
    assert_eq!(error_name(&e), "InvalidArgumentsError");

    // Server input: malformed #publish and #kickOut.
    server_transmit(&id, "#publish", r#"{"channel":"unknown-channel","data":1}"#).await;
    server_transmit(&id, "#publish", r#"{"data":2}"#).await;
    server_transmit(&id, "#publish", r#"{"channel":7,"data":3}"#).await;
    // (Not `#publish` with `null` data: socketcluster-server 20's own outbound path throws on it
    // and then sends nothing more to that socket, whatever the client.)
    server_transmit(&id, "#publish", r#""bad-in""#).await;
    server_transmit(&id, "#kickOut", r#"{"message":"no channel"}"#).await;
    server_transmit(&id, "#kickOut", r#"{"channel":["bad-in"]}"#).await;
    server_transmit(&id, "#kickOut", r#"{"channel":"unknown-channel"}"#).await;
    server_transmit(&id, "#kickOut", "null").await;
    // Then a good one, which must arrive (and arrive alone).
    server_transmit(&id, "#publish", r#"{"channel":"bad-in","data":"good"}"#).await;
    assert!(until(5_000, || got.length() == 1).await);
    assert_eq!(json(&got), r#"["good"]"#);
    assert_eq!(kicks.length(), 0);
    assert_eq!(state(&ch), "subscribed");
    assert_eq!(s.state(), "open");
    assert!(
        s.channel("unknown-channel".into())
            .map(|c| state(&c))
            .unwrap()
            == "unsubscribed"
    );
    let p: Promise = s
        .emit("echo".into(), "still".into(), JsValue::UNDEFINED)
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(
        within(5_000, p).await.unwrap().as_string().as_deref(),
        Some("still")
    );
    publish_from_server("bad-in", r#""real""#).await;
    assert!(until(5_000, || got.length() == 2).await);
    assert_eq!(json(&got), r#"["good","real"]"#);
    s.disconnect(None, None).unwrap();
}

// ---- the failure-handling tutorial -------------------------------------------------------

async fn tutorial(form: &str) {
    let s: JsValue = open(&main_url(), "{}").into();
    let log = within(10_000, run_tutorial(&s, form))
        .await
        .expect("emit and publish answered, pong subscribed");
    // The client's emit got the server's `res(null, 'Success')`; the publish was acked.
    assert_eq!(json(&get(&log, "emitCalls")), "[null]");
    assert_eq!(json(&get(&log, "publishCalls")), "[null]");
    assert_eq!(json(&get(&log, "subscribe")), r#"["pong"]"#);
    assert_eq!(json(&get(&log, "subscribeFail")), "[]");
    let id = get(&s, "id").as_string().expect("id");
    assert!(subscribers("pong").await.contains(&id));

    // The server emits `ping` with a callback and checks the client's answer.
    let r = control("/tutorialPing", Some(&format!(r#"{{"socketId":"{id}"}}"#))).await;
    if form == "error" {
        assert_eq!(json(&r), r#"{"ok":false,"error":"Error message"}"#);
    } else {
        assert_eq!(json(&r), r#"{"ok":true,"data":"Success"}"#);
    }
    // The no-callback form: the listener runs, `res` is a no-op-free undefined.
    let r = control(
        "/tutorialPing",
        Some(&format!(r#"{{"socketId":"{id}","mode":"transmit"}}"#)),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true}"#);
    let pings: Array = get(&log, "pings").dyn_into().unwrap();
    assert!(until(5_000, || pings.length() == 2).await);
    assert_eq!(
        json(&pings),
        r#"["This is a ping from server","This is a ping from server"]"#
    );

    // The server publishes to `pong` (exchange.transmitPublish); the watcher sees each one, in
    // order. The client's own 'This is a pong' may or may not reach its fresh subscription (the
    // publish and the subscription race on the server), so it is allowed once, first.
    let pongs: Array = get(&log, "pongs").dyn_into().unwrap();
    for count in 1..=3 {
        let r = control("/tutorialPong", Some(&format!(r#"{{"count":{count}}}"#))).await;
        assert_eq!(json(&r), r#"{"ok":true}"#);
    }
    let numeric = || pongs.iter().filter(|v| v.as_f64().is_some()).count();
    assert!(until(5_000, || numeric() == 3).await, "{}", json(&pongs));
    sleep(100).await;
    let all = json(&pongs);
    assert!(
        all == "[1,2,3]" || all == r#"["This is a pong",1,2,3]"#,
        "pongs: {all}"
    );
    call(&s, "disconnect", &[]).unwrap();
}

#[wasm_bindgen_test]
async fn failure_handling_tutorial_success_form() {
    tutorial("success").await;
}

#[wasm_bindgen_test]
async fn failure_handling_tutorial_error_form() {
    tutorial("error").await;
}
