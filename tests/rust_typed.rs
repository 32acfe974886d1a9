//! Browser tests of the typed Rust API (issue 11): serde payloads, `sockline::Error`, the state
//! futures, a custom `AuthStorage`, drop semantics and typed Streams, against the fixtures.
//! Only crate-root names (`sockline::…`) are used, as an app would.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use common::*;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sockline::{
    AuthState, AuthStorage, BackoffConfig, BadConnectionKind, CallOptions, CallResult, Config,
    Error, EventStream, EventStreamOptions, Socket, SocketEvent, SocketOptions, State,
    SubscribeOptions, TokenLoad, TokenStorage, Transport,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn within<F: std::future::Future>(ms: u32, f: F) -> F::Output {
    use futures::future::{select, Either};
    match select(Box::pin(f), gloo_timers::future::TimeoutFuture::new(ms)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("not within {ms} ms"),
    }
}

fn memory() -> SocketOptions {
    SocketOptions {
        storage: AuthStorage::Memory,
        ..SocketOptions::default()
    }
}

async fn open_socket(opts: SocketOptions) -> Socket {
    let s = Socket::new(&main_url(), opts).expect("socket");
    s.connected().await.expect("connected");
    s
}

/// Asks the fixture to close the socket's connection with `code` (the socket reconnects).
async fn server_disconnect(s: &Socket, code: u16) {
    let id = s.id().expect("id");
    let r = control(
        "/disconnect",
        Some(&format!(r#"{{"socketId":"{id}","code":{code}}}"#)),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true}"#);
    assert!(
        until(5_000, || s.state() != State::Open
            || s.id().as_deref() != Some(&id))
        .await
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle(f64),
    Rect { w: u32, h: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    label: String,
    shapes: Vec<Shape>,
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    id: u32,
    big: u64,
    ratio: f64,
    flag: bool,
    inner: Inner,
    missing: Option<Inner>,
    tags: BTreeMap<String, i32>,
}

fn doc() -> Doc {
    Doc {
        id: 7,
        big: 9_007_199_254_740_991,
        ratio: -0.125,
        flag: true,
        inner: Inner {
            label: "héllo wörld ✓ 日本語 😀 \u{0} \"quoted\" \\ \n".into(),
            shapes: vec![Shape::Dot, Shape::Circle(1.5), Shape::Rect { w: 3, h: 4 }],
            note: None,
        },
        missing: None,
        tags: [("ünï".to_string(), -1), ("b".to_string(), 2)]
            .into_iter()
            .collect(),
    }
}

#[wasm_bindgen_test]
async fn typed_round_trip_nested_structs_enums_options_unicode() {
    let s = open_socket(memory()).await;
    let d = doc();
    let back: Doc = s.emit("echo", &d).await.expect("echo");
    assert_eq!(back, d);
    // Option and unit both ways; an answer without data reads as None.
    let none: Option<Doc> = s.emit("echo", &None::<Doc>).await.expect("echo none");
    assert_eq!(none, None);
    let some: Option<Shape> = s.emit("echo", &Some(Shape::Dot)).await.expect("echo");
    assert_eq!(some, Some(Shape::Dot));
    // The wire carries plain JSON: what the server saw is the JSON a JS client would send.
    let id = s.id().unwrap();
    let received = control(&format!("/received?socketId={id}"), None).await;
    let text = json(&received);
    assert!(
        text.contains(r#""shapes":["Dot",{"Circle":1.5},{"Rect":{"w":3,"h":4}}]"#),
        "{text}"
    );
    assert!(text.contains("日本語 😀"), "{text}");
    // A typed publish arrives typed on the channel Stream.
    let ch = s.subscribe("typed-roundtrip", SubscribeOptions::default());
    ch.subscribed().await.expect("subscribed");
    let mut msgs = ch.messages::<Doc>();
    ch.publish(&d).await.expect("published");
    assert_eq!(within(5_000, msgs.next()).await.unwrap().unwrap(), d);
    // A value that does not fit the type is a PayloadError, not a trap.
    let r: Result<u32, Error> = s.emit("echo", "not a number").await;
    match r {
        Err(e @ Error::Payload { .. }) => assert_eq!(e.name(), "PayloadError"),
        other => panic!("{other:?}"),
    }
    s.disconnect(1000, "");
}

#[wasm_bindgen_test]
async fn server_error_name_message_and_fields_reachable() {
    let s = open_socket(memory()).await;
    match s.emit::<_, ()>("fail", &()).await {
        Err(e @ Error::Server { .. }) => {
            assert_eq!(e.name(), "MyCustomError");
            assert_eq!(e.to_string(), "Something failed");
            let Error::Server { fields, .. } = &e else {
                unreachable!()
            };
            let fields: serde_json::Value = serde_json::from_str(fields).unwrap();
            assert_eq!(fields, serde_json::json!({"extra": 123}));
            let _: &dyn std::error::Error = &e;
        }
        other => panic!("{other:?}"),
    }
    match s.emit::<_, ()>("failString", &()).await {
        Err(Error::Server {
            name,
            message,
            fields,
        }) => {
            assert_eq!(
                (name.as_str(), message.as_str()),
                ("Error", "Error message")
            );
            assert_eq!(fields, r#"{"value":"Error message"}"#);
        }
        other => panic!("{other:?}"),
    }
    // A timeout is a TimeoutError naming the event.
    let r = s
        .emit_with_options::<_, ()>(
            "noReply",
            &(),
            sockline::CallOptions {
                ack_timeout: Some(200.0),
                retries: 0,
            },
        )
        .await;
    assert_eq!(
        r,
        Err(Error::Timeout {
            event: "noReply".into()
        })
    );
    // A server-invoked procedure answered by a typed async handler, both ways.
    #[derive(Deserialize)]
    struct Ask {
        n: i32,
    }
    #[derive(Serialize)]
    struct Answer {
        doubled: i32,
        text: String,
    }
    s.on_invoke("double", |a: Ask| async move {
        gloo_timers::future::TimeoutFuture::new(10).await;
        if a.n < 0 {
            return Err(Error::Server {
                name: "NegativeError".into(),
                message: "no negatives".into(),
                fields: r#"{"n":-1,"hint":"ünï"}"#.into(),
            });
        }
        Ok(Answer {
            doubled: a.n * 2,
            text: "✓".into(),
        })
    });
    let id = s.id().unwrap();
    let ok = control(
        "/invoke",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"double","data":{{"n":21}}}}"#
        )),
    )
    .await;
    assert_eq!(json(&ok), r#"{"ok":true,"data":{"doubled":42,"text":"✓"}}"#);
    let err = control(
        "/invoke",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"double","data":{{"n":-1}}}}"#
        )),
    )
    .await;
    let err: serde_json::Value = serde_json::from_str(&json(&get(&err, "error"))).unwrap();
    assert_eq!(
        err,
        serde_json::json!({"n": -1, "hint": "ünï", "name": "NegativeError", "message": "no negatives"})
    );
    let bad = control(
        "/invoke",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"double","data":"x"}}"#
        )),
    )
    .await;
    assert_eq!(
        get(&get(&bad, "error"), "name").as_string().as_deref(),
        Some("PayloadError")
    );
    s.disconnect(1000, "");
}

/// A socket whose custom store holds a token the server rejects.
fn bad_token_socket() -> Socket {
    Socket::new(
        &main_url(),
        SocketOptions {
            storage: AuthStorage::custom(Recording::with_token("not.a.jwt")),
            ..SocketOptions::default()
        },
    )
    .unwrap()
}

/// The next event `pick` accepts, within 5 s.
async fn next_event<T>(
    events: &mut sockline::EventsStream,
    pick: impl Fn(&SocketEvent) -> Option<T>,
) -> T {
    within(5_000, async {
        while let Some(e) = events.next().await {
            if let Some(v) = pick(&e) {
                return v;
            }
        }
        panic!("the socket's events ended")
    })
    .await
}

#[wasm_bindgen_test]
async fn typed_errors_in_events_callbacks_and_invoke_answers() {
    // A callback call settles with sockline::Error (a server error hydrated).
    let s = open_socket(memory()).await;
    let (tx, rx) = futures::channel::oneshot::channel::<CallResult>();
    s.emit_with("fail", None, CallOptions::default(), move |r| {
        let _ = tx.send(r);
    });
    match within(5_000, rx).await.unwrap() {
        Err(Error::Server { name, fields, .. }) => {
            assert_eq!(
                (name.as_str(), fields.as_str()),
                ("MyCustomError", r#"{"extra":123}"#)
            )
        }
        other => panic!("{other:?}"),
    }

    // subscribeFail carries the server's error as an Error.
    let mut events = s.events(64);
    let _forbidden = s.subscribe("forbidden", SubscribeOptions::default());
    let e = next_event(&mut events, |e| match e {
        SocketEvent::SubscribeFail { channel, error } if channel == "forbidden" => {
            Some(error.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(e.name(), "SubscribeForbiddenError", "{e:?}");
    assert!(matches!(e, Error::Server { .. }), "{e:?}");

    // The error event: a close code other than 1000/1001 is a SocketProtocolError.
    server_disconnect(&s, 4100).await;
    let e = next_event(&mut events, |e| match e {
        SocketEvent::Error(e) => Some(e.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(e, Error::SocketProtocol { code: 4100, .. }),
        "{e:?}"
    );
    assert_eq!(e.name(), "SocketProtocolError");
    s.connected_within(5_000).await.expect("reconnected");

    // Invokes answered with typed errors reach the server as the JS package sends them.
    s.on_event(|e| {
        let SocketEvent::ServerEvent {
            event,
            reply: Some(r),
            ..
        } = e
        else {
            return;
        };
        let error = match event.as_str() {
            "rustServerError" => Error::Server {
                name: "RustError".into(),
                message: "nope ✓".into(),
                fields: r#"{"extra":[1,2],"name":"ignored"}"#.into(),
            },
            "rustTimeout" => Error::Timeout {
                event: "inner".into(),
            },
            "rustBadConnection" => Error::BadConnection {
                kind: BadConnectionKind::Disconnect,
                code: 4100,
                reason: "gone".into(),
                event: "inner".into(),
            },
            _ => return,
        };
        r.respond(Err(error));
    });
    let id = s.id().unwrap();
    let invoke = |event: &'static str| {
        let id = id.clone();
        async move {
            let r = control(
                "/invoke",
                Some(&format!(
                    r#"{{"socketId":"{id}","event":"{event}","data":null}}"#
                )),
            )
            .await;
            serde_json::from_str::<serde_json::Value>(&json(&get(&r, "error"))).unwrap()
        }
    };
    assert_eq!(
        invoke("rustServerError").await,
        serde_json::json!({"name": "RustError", "message": "nope ✓", "extra": [1, 2]})
    );
    assert_eq!(
        invoke("rustTimeout").await,
        serde_json::json!({"name": "TimeoutError", "message": "Event response for inner event timed out"})
    );
    assert_eq!(
        invoke("rustBadConnection").await,
        serde_json::json!({
            "name": "BadConnectionError",
            "message": "Event inner was aborted due to a bad connection",
            "type": "disconnect", "code": 4100, "reason": "gone"
        })
    );
    s.disconnect(1000, "");

    // connect's authError is an Error too.
    let bad = bad_token_socket();
    let mut events = bad.events(64);
    let auth_error = next_event(&mut events, |e| match e {
        SocketEvent::Connect { auth_error, .. } => Some(auth_error.clone()),
        _ => None,
    })
    .await;
    match auth_error {
        Some(e @ Error::Server { .. }) => assert!(e.name().ends_with("Error"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    bad.disconnect(1000, "");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tick {
    n: u32,
    who: String,
}

async fn publish_tick(channel: &str, n: u32) {
    let r = control(
        "/publish",
        Some(&format!(
            r#"{{"channel":"{channel}","data":{{"n":{n},"who":"sérveur"}}}}"#
        )),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true}"#);
}

#[wasm_bindgen_test]
async fn typed_channel_stream_across_server_disconnect_and_resubscription() {
    let s = open_socket(memory()).await;
    let name = format!("typed-ticks-{}", (js_sys::Math::random() * 1e9) as u64);
    let ch = s.subscribe(&name, SubscribeOptions::default());
    let mut ticks = ch.messages::<Tick>();
    ch.subscribed().await.expect("subscribed");
    for n in 1..=3 {
        publish_tick(&name, n).await;
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(within(5_000, ticks.next()).await.unwrap().unwrap().n);
    }
    server_disconnect(&s, 4100).await;
    s.connected_within(5_000).await.expect("reconnected");
    ch.subscribed_within(5_000).await.expect("re-subscribed");
    for n in 4..=6 {
        publish_tick(&name, n).await;
    }
    for _ in 0..3 {
        let t = within(5_000, ticks.next()).await.unwrap().unwrap();
        assert_eq!(t.who, "sérveur");
        got.push(t.n);
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5, 6], "none lost, none repeated");
    // and nothing else is buffered (no repeat after the re-subscription)
    let extra = futures::future::select(ticks.next(), Box::pin(sleep(300))).await;
    assert!(
        matches!(extra, futures::future::Either::Right(_)),
        "no extra message"
    );
    s.disconnect(1000, "");
}

#[wasm_bindgen_test]
async fn state_futures_resolve_and_fail() {
    // resolve
    let s = Socket::new(&main_url(), memory()).expect("socket");
    s.connected().await.expect("connected");
    s.connected().await.expect("connected again at once");
    let ch = s.subscribe("typed-state", SubscribeOptions::default());
    ch.subscribed().await.expect("subscribed");
    #[derive(Serialize)]
    struct Login<'a> {
        username: &'a str,
    }
    let _: serde_json::Value = s.emit("login", &Login { username: "dora" }).await.unwrap();
    s.authenticated().await.expect("authenticated");

    // fail: a refused subscription, with the server's error
    let forbidden = s.subscribe("forbidden", SubscribeOptions::default());
    match forbidden.subscribed_within(5_000).await {
        Err(e @ Error::Server { .. }) => assert_eq!(e.name(), "SubscribeForbiddenError"),
        other => panic!("{other:?}"),
    }
    // fail: not authenticated within the bound
    let anon = open_socket(memory()).await;
    assert_eq!(
        anon.authenticated_within(300).await,
        Err(Error::Timeout {
            event: "authenticate".into()
        })
    );
    // fail: a stored token the server rejects (its authError)
    let bad = bad_token_socket();
    match bad.authenticated_within(5_000).await {
        Err(e @ Error::Server { .. }) => assert!(e.name().ends_with("Error"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    // fail: after disconnect(), at once
    s.disconnect(1000, "");
    match s.connected().await {
        Err(Error::BadConnection { kind, .. }) => assert_eq!(kind, BadConnectionKind::Closed),
        other => panic!("{other:?}"),
    }
    // fail: a server that is not there, with one attempt: the attempts give up
    let nowhere = Socket::new(
        &format!("ws://127.0.0.1:{}/socketcluster/", base() + 99),
        SocketOptions {
            config: Config {
                backoff: BackoffConfig {
                    initial_delay: 10.0,
                    max_attempts: Some(1),
                    ..BackoffConfig::default()
                },
                ..Config::default()
            },
            ..memory()
        },
    )
    .unwrap();
    match within(10_000, nowhere.connected()).await {
        Err(Error::BadConnection { kind, .. }) => {
            assert_eq!(kind, BadConnectionKind::ConnectAbort)
        }
        other => panic!("{other:?}"),
    }
    // fail: bounded
    let slow = Socket::new(
        &format!("ws://127.0.0.1:{}/socketcluster/", base() + 99),
        memory(),
    )
    .unwrap();
    assert_eq!(
        slow.connected_within(300).await,
        Err(Error::Timeout {
            event: "connect".into()
        })
    );
    slow.disconnect(1000, "");
    // a channel of a dropped socket
    let orphan = anon.subscribe("typed-orphan", SubscribeOptions::default());
    anon.disconnect(1000, "");
    drop(anon);
    assert!(matches!(
        orphan.subscribed().await,
        Err(Error::BadConnection { .. })
    ));
    bad.disconnect(1000, "");
    // a bad option is a ConfigError naming it
    let e = Socket::new("ftp://x", SocketOptions::default())
        .err()
        .unwrap();
    assert_eq!(e.option, "url");
    let e = EventStream::new(
        &sse_url(),
        EventStreamOptions {
            last_event_id_param: String::new(),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert_eq!(e.option, "lastEventIdParam");
    let as_error: Error = e.into();
    assert_eq!(as_error.name(), "InvalidArgumentsError");
}

/// A token store that records every call; `load_token` answers asynchronously.
#[derive(Clone, Default)]
struct Recording {
    token: Rc<RefCell<Option<String>>>,
    calls: Rc<RefCell<Vec<String>>>,
}

impl Recording {
    fn with_token(t: &str) -> Recording {
        let r = Recording::default();
        *r.token.borrow_mut() = Some(t.into());
        r
    }
}

impl TokenStorage for Recording {
    fn load_token(&self, name: &str) -> TokenLoad {
        self.calls.borrow_mut().push(format!("load {name}"));
        let token = self.token.borrow().clone();
        TokenLoad::Later(Box::pin(async move {
            gloo_timers::future::TimeoutFuture::new(5).await;
            token
        }))
    }
    fn save_token(&self, name: &str, token: &str) {
        self.calls.borrow_mut().push(format!("save {name}"));
        *self.token.borrow_mut() = Some(token.into());
    }
    fn remove_token(&self, name: &str) {
        self.calls.borrow_mut().push(format!("remove {name}"));
        *self.token.borrow_mut() = None;
    }
}

#[derive(Debug, Deserialize)]
struct WhoAmI {
    username: String,
}

#[wasm_bindgen_test]
async fn authenticate_with_a_token_resolves_and_a_bad_token_fails_with_the_server_error() {
    // A token the server signed for another socket.
    let issuer = open_socket(memory()).await;
    let _: serde_json::Value = issuer
        .emit("login", &serde_json::json!({"username": "erin"}))
        .await
        .unwrap();
    issuer.authenticated().await.expect("issuer authenticated");
    let token = issuer.signed_auth_token().expect("a signed token");

    let s = open_socket(memory()).await;
    assert_eq!(s.auth_state(), AuthState::Unauthenticated);
    s.authenticate(&token).await.expect("accepted");
    assert_eq!(s.auth_state(), AuthState::Authenticated);
    assert_eq!(s.signed_auth_token().as_deref(), Some(token.as_str()));

    let other = open_socket(memory()).await;
    match other.authenticate("not.a.jwt").await {
        Err(e @ Error::Server { .. }) => assert!(e.name().ends_with("Error"), "{e:?}"),
        r => panic!("a bad token must fail with the server's authError: {r:?}"),
    }
    assert_eq!(other.auth_state(), AuthState::Unauthenticated);
    // (a closed socket: the call's own error)
    other.disconnect(1000, "");
    assert!(matches!(
        other.authenticate(&token).await,
        Err(Error::BadConnection { .. })
    ));
    for x in [issuer, s] {
        x.disconnect(1000, "");
    }
}

#[wasm_bindgen_test]
async fn custom_auth_storage_used_across_a_reconnect() {
    let store = Recording::default();
    let s = open_socket(SocketOptions {
        storage: AuthStorage::custom(store.clone()),
        auth_token_name: Some("typed.token".into()),
        ..SocketOptions::default()
    })
    .await;
    assert_eq!(*store.calls.borrow(), vec!["load typed.token"]);
    let _: serde_json::Value = s
        .emit("login", &serde_json::json!({"username": "carol"}))
        .await
        .unwrap();
    s.authenticated_within(5_000).await.unwrap();
    assert!(store.token.borrow().is_some(), "saved");
    assert!(store
        .calls
        .borrow()
        .contains(&"save typed.token".to_string()));

    server_disconnect(&s, 4100).await;
    s.connected_within(5_000).await.expect("reconnected");
    // the reconnect's handshake loaded the token from the custom store
    assert_eq!(
        store
            .calls
            .borrow()
            .iter()
            .filter(|c| *c == "load typed.token")
            .count(),
        2
    );
    s.authenticated_within(5_000)
        .await
        .expect("authenticated with the stored token");
    let me: Option<WhoAmI> = s.emit("whoami", &()).await.unwrap();
    assert_eq!(me.unwrap().username, "carol");

    let _: () = s.emit("logout", &()).await.unwrap();
    assert!(
        until(2_000, || store
            .calls
            .borrow()
            .contains(&"remove typed.token".to_string()))
        .await
    );
    assert!(store.token.borrow().is_none());
    s.disconnect(1000, "");
}

#[wasm_bindgen_test]
async fn dropping_every_handle_closes_and_releases_listeners_and_timers() {
    let counts = js(r#"(() => {
        const c = { added: 0, removed: 0, live: new Set(), timers: new Set() };
        for (const target of [window, document]) {
            const add = target.addEventListener, remove = target.removeEventListener;
            target.__typed_restore = () => { target.addEventListener = add; target.removeEventListener = remove; };
            target.addEventListener = function (name, fn, o) { c.added++; c.live.add(fn); return add.call(this, name, fn, o); };
            target.removeEventListener = function (name, fn, o) { if (c.live.delete(fn)) c.removed++; return remove.call(this, name, fn, o); };
        }
        const st = window.setTimeout, ct = window.clearTimeout;
        window.__typed_restore_timers = () => { window.setTimeout = st; window.clearTimeout = ct; };
        window.setTimeout = function (f, ms, ...a) {
            const id = st.call(window, (...x) => { c.timers.delete(id); return f(...x); }, ms, ...a);
            c.timers.add(id);
            return id;
        };
        window.clearTimeout = function (id) { c.timers.delete(id); return ct.call(window, id); };
        c.liveTimers = () => c.timers.size;
        return c;
    })()"#);
    let s = open_socket(memory()).await;
    let id = s.id().unwrap();
    let ch = s.subscribe("typed-drop", SubscribeOptions::default());
    ch.subscribed().await.unwrap();
    let msgs = ch.messages::<Tick>();
    let events = s.events(8);
    s.on_invoke("never", |_: ()| async { Ok(()) });
    let clone = s.clone();
    assert!(get(&counts, "added").as_f64().unwrap() >= 4.0);
    assert!(
        live_timers(&counts) >= 1,
        "the socket arms a ping timer while open"
    );

    drop((s, clone, ch, msgs, events));

    let added = get(&counts, "added").as_f64().unwrap();
    let removed = get(&counts, "removed").as_f64().unwrap();
    let timers = live_timers(&counts);
    js("(() => { window.__typed_restore(); document.__typed_restore(); window.__typed_restore_timers(); })()");
    assert_eq!(removed, added, "every listener added was removed");
    assert_eq!(timers, 0, "every timer cleared");
    let gone = until_async(10_000, || {
        let id = id.clone();
        async move {
            let socks = control("/sockets?server=main", None).await;
            !json(&socks).contains(&id)
        }
    })
    .await;
    assert!(gone, "the fixture saw the connection close");
}

fn live_timers(counts: &JsValue) -> u32 {
    let f: js_sys::Function = get(counts, "liveTimers").into();
    f.call0(&JsValue::UNDEFINED).unwrap().as_f64().unwrap() as u32
}

#[wasm_bindgen_test]
async fn event_stream_as_typed_stream_across_dropped_connections() {
    for transport in [Transport::EventSource, Transport::Fetch] {
        let k = format!("typed-{}", (js_sys::Math::random() * 1e12) as u64);
        let es = EventStream::new(
            &format!("{}/drop?every=4&n=12&overlap=2&key={k}", sse_url()),
            EventStreamOptions {
                transport,
                backoff: BackoffConfig {
                    initial_delay: 30.0,
                    jitter: 0.0,
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
        let mut typed = es.map(|m| m.json::<u32>());
        let mut got = Vec::new();
        while got.len() < 12 {
            got.push(
                within(5_000, typed.next())
                    .await
                    .expect("open")
                    .expect("a number"),
            );
        }
        assert_eq!(
            got,
            (1..=12).collect::<Vec<u32>>(),
            "{transport:?}: no gap, no repeat"
        );
        let extra = futures::future::select(typed.next(), Box::pin(sleep(300))).await;
        assert!(
            matches!(extra, futures::future::Either::Right(_)),
            "nothing after 12"
        );
    }
}
