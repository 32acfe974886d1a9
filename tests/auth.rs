//! Browser tests of authentication against the socketcluster-server 20 fixtures
//! (`tests/fixtures`): tokens across handshakes, server-pushed token changes,
//! `authenticate`/`deauthenticate`, token storage choices and `waitForAuth` channels.
//!
//! Every test uses its own `authTokenName` (only the first one uses the default key) and clears
//! its keys first, so the tests do not depend on each other or on their order.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::{Array, Function, Promise, Reflect};
use sockline::js::socket::{connect, JsSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---- helpers ----------------------------------------------------------------------------------

fn local() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn stored(key: &str) -> Option<String> {
    local().get_item(key).unwrap()
}

/// Every `localStorage` entry, sorted, as JSON (to show that nothing was written).
fn snapshot() -> String {
    let s = local();
    let mut all: Vec<(String, String)> = (0..s.length().unwrap())
        .filter_map(|i| s.key(i).unwrap())
        .map(|k| {
            let v = s.get_item(&k).unwrap().unwrap_or_default();
            (k, v)
        })
        .collect();
    all.sort();
    format!("{all:?}")
}

fn default_key() -> String {
    format!("socketcluster.authToken.127.0.0.1:{}", base() + 1)
}

fn open(opts: &str) -> JsSocket {
    connect(&main_url(), js(opts)).expect("connect")
}

/// Opens a socket and returns it with its first `connect` payload.
async fn opened(opts: &str) -> (JsSocket, JsValue) {
    let s = open(opts);
    let ev = within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect event");
    (s, ev)
}

async fn emit(s: &JsSocket, event: &str, data: JsValue) -> Result<JsValue, JsValue> {
    let p: Promise = s
        .emit(event.into(), data, JsValue::UNDEFINED)
        .expect("emit returns")
        .dyn_into()
        .expect("a Promise");
    within(10_000, p).await
}

async fn login(s: &JsSocket, user: &str) {
    let r = emit(s, "login", js(&format!("{{username: '{user}'}}")))
        .await
        .expect("login");
    assert_eq!(json(&r), r#"{"ok":true}"#);
}

/// The `username` the server sees on this socket's token (`None` when it has no token).
async fn whoami(s: &JsSocket) -> Option<String> {
    let r = emit(s, "whoami", JsValue::UNDEFINED).await.expect("whoami");
    if r.is_null() || r.is_undefined() {
        None
    } else {
        Some(
            get(&r, "username")
                .as_string()
                .expect("username in the token"),
        )
    }
}

/// A token signed by the fixture's key for `payload` (via a throwaway socket).
async fn server_token(payload: &str) -> String {
    let (t, _) = opened("{authStorage: 'memory'}").await;
    let id = t.id().unwrap();
    let r = control(
        "/setAuthToken",
        Some(&format!(r#"{{"socketId":"{id}","payload":{payload}}}"#)),
    )
    .await;
    let token = get(&r, "token").as_string().expect("token");
    t.disconnect(None, None).unwrap();
    token
}

/// A JWT with a readable payload whose signature the server does not accept.
fn forged_token() -> String {
    // {"alg":"HS256","typ":"JWT"} . {"username":"mallory"} . bad signature
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6Im1hbGxvcnkifQ.c2lnbmF0dXJl".into()
}

fn str_field(v: &JsValue, k: &str) -> Option<String> {
    get(v, k).as_string()
}

/// Calls `obj.method(...args)`.
fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let f: Function = get(obj, method).dyn_into().expect("a method");
    f.apply(obj, &args.iter().collect::<Array>())
        .expect("method call")
}

fn calls_of(rec: &std::cell::RefCell<Vec<Array>>) -> Vec<JsValue> {
    rec.borrow().iter().map(|a| a.get(0)).collect()
}

/// The frames the server recorded for a socket.
async fn received(id: &str) -> Vec<JsValue> {
    let list = control(&format!("/received?socketId={id}"), None).await;
    list.dyn_into::<Array>().unwrap().iter().collect()
}

// ---- tests --------------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn login_authenticates_stores_under_the_default_key_and_whoami_sees_the_user() {
    let key = default_key();
    local().remove_item(&key).unwrap();
    let (s, ev) = opened("{}").await;
    assert_eq!(s.auth_token_name(), key, "socketcluster-client 20 key");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    assert_eq!(s.auth_state(), "unauthenticated");
    assert!(s.auth_token().is_null());
    assert!(s.signed_auth_token().is_none());

    let order = js("[]");
    let push = |tag: &str| -> Function {
        Function::new_with_args("order, tag", "return (a) => order.push([tag, a])")
            .call2(&JsValue::NULL, &order, &JsValue::from_str(tag))
            .unwrap()
            .into()
    };
    s.on("authStateChange".into(), push("authStateChange").into())
        .unwrap();
    s.on("authenticate".into(), push("authenticate").into())
        .unwrap();

    login(&s, "alice").await;
    let order: Array = order.unchecked_into();
    assert!(
        until(3_000, || order.length() == 2).await,
        "two events: {}",
        json(&order)
    );
    let first: Array = order.get(0).unchecked_into();
    assert_eq!(first.get(0).as_string().as_deref(), Some("authStateChange"));
    assert_eq!(
        json(&first.get(1)),
        r#"{"oldAuthState":"unauthenticated","newAuthState":"authenticated"}"#
    );
    let second: Array = order.get(1).unchecked_into();
    assert_eq!(second.get(0).as_string().as_deref(), Some("authenticate"));
    let auth = second.get(1);
    let token = str_field(&auth, "signedAuthToken").expect("signedAuthToken");
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(
        str_field(&get(&auth, "authToken"), "username").as_deref(),
        Some("alice")
    );

    assert_eq!(s.auth_state(), "authenticated");
    assert_eq!(s.signed_auth_token().as_deref(), Some(token.as_str()));
    assert_eq!(
        stored(&key).as_deref(),
        Some(token.as_str()),
        "stored under {key}"
    );
    assert_eq!(whoami(&s).await.as_deref(), Some("alice"));
    // The token is never put into the URL.
    assert!(!s.url().contains(&token));

    s.disconnect(None, None).unwrap();
    local().remove_item(&key).unwrap();
}

#[wasm_bindgen_test]
async fn reconnect_after_server_disconnect_carries_the_token() {
    let key = "sockline-test.reconnect";
    local().remove_item(key).unwrap();
    let (s, _) = opened(&format!("{{authTokenName: '{key}'}}")).await;
    login(&s, "bob").await;
    let token = s.signed_auth_token().expect("token after login");
    let (rec, deauths) = recorder();
    s.on("deauthenticate".into(), rec.into()).unwrap();

    let old_id = s.id().unwrap();
    let next = s.once("connect".into(), JsValue::UNDEFINED);
    server_disconnect(&old_id, 4444, "bye").await;
    let ev = within(8_000, next).await.expect("reconnected");
    assert_eq!(
        get(&ev, "isAuthenticated").as_bool(),
        Some(true),
        "{}",
        json(&ev)
    );
    assert!(get(&ev, "authError").is_undefined());
    let new_id = s.id().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(s.auth_state(), "authenticated");
    assert_eq!(s.signed_auth_token().as_deref(), Some(token.as_str()));
    assert_eq!(whoami(&s).await.as_deref(), Some("bob"));
    assert!(deauths.borrow().is_empty(), "never deauthenticated");

    // The new handshake carried the stored token; no second login was sent.
    let frames = received(&new_id).await;
    let hs = frames
        .iter()
        .find(|f| str_field(f, "event").as_deref() == Some("#handshake"))
        .expect("#handshake recorded");
    assert_eq!(
        str_field(&get(hs, "data"), "authToken").as_deref(),
        Some(token.as_str())
    );
    assert!(!frames
        .iter()
        .any(|f| str_field(f, "event").as_deref() == Some("login")));

    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn a_later_socket_starts_authenticated_from_storage() {
    let key = "sockline-test.second";
    local().remove_item(key).unwrap();
    let opts = format!("{{authTokenName: '{key}'}}");
    let (first, _) = opened(&opts).await;
    login(&first, "carol").await;
    let token = first.signed_auth_token().unwrap();

    let second = open(&opts);
    let (rec, auths) = recorder();
    second.on("authenticate".into(), rec.into()).unwrap();
    let ev = within(5_000, second.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(true));
    assert_eq!(second.auth_state(), "authenticated");
    assert_eq!(second.signed_auth_token().as_deref(), Some(token.as_str()));
    assert_eq!(
        str_field(&second.auth_token(), "username").as_deref(),
        Some("carol")
    );
    assert_eq!(auths.borrow().len(), 1, "authenticate event on connect");
    assert_eq!(whoami(&second).await.as_deref(), Some("carol"));

    first.disconnect(None, None).unwrap();
    second.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn a_bad_token_in_storage_is_refused_and_removed() {
    let key = "sockline-test.garbage";
    local().set_item(key, &forged_token()).unwrap();
    let s = open(&format!("{{authTokenName: '{key}'}}"));
    let (rec, auths) = recorder();
    s.on("authenticate".into(), rec.into()).unwrap();
    let ev = within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    let err = get(&ev, "authError");
    assert!(err.is_instance_of::<js_sys::Error>(), "{}", json(&err));
    assert_eq!(error_name(&err), "AuthTokenInvalidError");
    assert_eq!(get(&err, "isBadToken").as_bool(), Some(true));
    assert!(!error_message(&err).contains(&forged_token()));
    assert!(
        until(3_000, || stored(key).is_none()).await,
        "stored token removed"
    );
    assert_eq!(s.auth_state(), "unauthenticated");
    assert!(s.signed_auth_token().is_none());
    assert!(s.auth_token().is_null());
    assert!(auths.borrow().is_empty());
    assert_eq!(whoami(&s).await, None);
    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn authenticate_with_a_valid_token_then_deauthenticate() {
    let key = "sockline-test.authenticate";
    local().remove_item(key).unwrap();
    let token = server_token(r#"{"username":"dave"}"#).await;
    let (s, _) = opened(&format!("{{authTokenName: '{key}'}}")).await;
    let (rec_a, auths) = recorder();
    s.on("authenticate".into(), rec_a.into()).unwrap();
    let (rec_d, deauths) = recorder();
    s.on("deauthenticate".into(), rec_d.into()).unwrap();
    let (rec_c, changes) = recorder();
    s.on("authStateChange".into(), rec_c.into()).unwrap();

    let r = within(5_000, s.authenticate(token.clone().into()).unwrap())
        .await
        .expect("authenticate resolves");
    assert_eq!(json(&r), r#"{"isAuthenticated":true,"authError":null}"#);
    assert_eq!(s.auth_state(), "authenticated");
    assert_eq!(
        stored(key).as_deref(),
        Some(token.as_str()),
        "saved on success"
    );
    assert_eq!(auths.borrow().len(), 1);
    assert_eq!(
        str_field(&calls_of(&auths)[0], "signedAuthToken").as_deref(),
        Some(token.as_str())
    );
    assert_eq!(whoami(&s).await.as_deref(), Some("dave"));

    let r = within(5_000, s.deauthenticate())
        .await
        .expect("deauthenticate resolves");
    assert!(r.is_undefined());
    assert_eq!(s.auth_state(), "unauthenticated");
    assert!(s.signed_auth_token().is_none());
    assert_eq!(stored(key), None, "removed");
    assert_eq!(deauths.borrow().len(), 1);
    let d = &calls_of(&deauths)[0];
    assert_eq!(
        str_field(d, "oldSignedAuthToken").as_deref(),
        Some(token.as_str())
    );
    assert_eq!(
        str_field(&get(d, "oldAuthToken"), "username").as_deref(),
        Some("dave")
    );
    assert_eq!(
        calls_of(&changes).iter().map(json).collect::<Vec<_>>(),
        vec![
            r#"{"oldAuthState":"unauthenticated","newAuthState":"authenticated"}"#,
            r#"{"oldAuthState":"authenticated","newAuthState":"unauthenticated"}"#,
        ]
    );
    // The server got #removeAuthToken before the next call.
    assert_eq!(whoami(&s).await, None);

    // A refused token rejects with the server's error and leaves the socket unauthenticated.
    let e = within(5_000, s.authenticate(forged_token().into()).unwrap())
        .await
        .expect_err("a forged token is refused");
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(error_name(&e), "AuthTokenInvalidError");
    assert!(!error_message(&e).contains(&forged_token()));
    assert_eq!(s.auth_state(), "unauthenticated");
    assert_eq!(stored(key), None);
    // A non-string token is refused locally.
    let e = s.authenticate(5.into()).expect_err("throws");
    assert_eq!(error_name(&e), "InvalidArgumentsError");
    assert_eq!(
        emit(&s, "echo", 1.into()).await.unwrap().as_f64(),
        Some(1.0)
    );

    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn wait_for_auth_channel_is_pending_until_login_then_receives() {
    let key = "sockline-test.waitforauth";
    local().remove_item(key).unwrap();
    let channel = format!("wfa-{}", js_sys::Math::random().to_bits());
    let (s, _) = opened(&format!("{{authTokenName: '{key}'}}")).await;
    let ch = s
        .subscribe(channel.clone().into(), js("{waitForAuth: true}"))
        .unwrap();
    let (watcher, messages) = recorder();
    call(&ch, "watch", &[watcher.into()]);
    let state = |ch: &JsValue| str_field(ch, "state").unwrap();
    let subscribers = |name: String| async move {
        let r = control(&format!("/subscribers?channel={name}"), None).await;
        get(&r, "count").as_f64().unwrap_or(-1.0)
    };

    sleep(300).await;
    assert_eq!(state(&ch), "pending");
    assert_eq!(subscribers(channel.clone()).await, 0.0);
    control(
        "/publish",
        Some(&format!(r#"{{"channel":"{channel}","data":{{"n":0}}}}"#)),
    )
    .await;

    login(&s, "erin").await;
    assert!(
        until(3_000, || state(&ch) == "subscribed").await,
        "subscribed after login"
    );
    control(
        "/publish",
        Some(&format!(r#"{{"channel":"{channel}","data":{{"n":1}}}}"#)),
    )
    .await;
    assert!(
        until(3_000, || messages.borrow().len() == 1).await,
        "message after login"
    );
    assert_eq!(json(&calls_of(&messages)[0]), r#"{"n":1}"#);

    // Deauthenticated, then reconnected without a token: held back again.
    within(5_000, s.deauthenticate()).await.unwrap();
    let id = s.id().unwrap();
    let next = s.once("connect".into(), JsValue::UNDEFINED);
    control(
        "/disconnect",
        Some(&format!(r#"{{"socketId":"{id}","code":4444}}"#)),
    )
    .await;
    let ev = within(8_000, next).await.expect("reconnected");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    sleep(300).await;
    assert_eq!(state(&ch), "pending");
    let new_id = s.id().unwrap();
    assert!(!received(&new_id)
        .await
        .iter()
        .any(|f| str_field(f, "event").as_deref() == Some("#subscribe")));
    // …and sent again as soon as a server-pushed token authenticates the socket.
    let r = control(
        "/setAuthToken",
        Some(&format!(
            r#"{{"socketId":"{new_id}","payload":{{"username":"erin"}}}}"#
        )),
    )
    .await;
    assert_eq!(get(&r, "ok").as_bool(), Some(true));
    assert!(
        until(3_000, || state(&ch) == "subscribed").await,
        "subscribed after #setAuthToken"
    );
    control(
        "/publish",
        Some(&format!(r#"{{"channel":"{channel}","data":{{"n":2}}}}"#)),
    )
    .await;
    assert!(until(3_000, || messages.borrow().len() == 2).await);
    assert_eq!(json(&calls_of(&messages)[1]), r#"{"n":2}"#);

    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn an_expired_token_is_removed() {
    let key = "sockline-test.expire";
    local().remove_item(key).unwrap();
    let (s, _) = opened(&format!("{{authTokenName: '{key}'}}")).await;
    let id = s.id().unwrap();
    let authed = s.once("authenticate".into(), JsValue::UNDEFINED);
    let r = control("/expire", Some(&format!(r#"{{"socketId":"{id}"}}"#))).await;
    let token = get(&r, "token").as_string().expect("token");
    within(5_000, authed).await.expect("authenticate");
    assert_eq!(stored(key).as_deref(), Some(token.as_str()));
    assert_eq!(
        str_field(&s.auth_token(), "username").as_deref(),
        Some("expiring")
    );

    // The server checks the expiry on the next inbound message: keep talking until it acts.
    let deauth = s.once("deauthenticate".into(), JsValue::UNDEFINED);
    let start = js_sys::Date::now();
    while s.auth_state() == "authenticated" && js_sys::Date::now() - start < 8_000.0 {
        sleep(400).await;
        let _ = emit(&s, "echo", 1.into()).await;
    }
    let ev = within(1_000, deauth).await.expect("deauthenticate event");
    assert_eq!(
        str_field(&ev, "oldSignedAuthToken").as_deref(),
        Some(token.as_str())
    );
    assert_eq!(s.auth_state(), "unauthenticated");
    assert_eq!(stored(key), None, "expired token removed");
    assert_eq!(whoami(&s).await, None);
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn memory_storage_leaves_local_storage_untouched() {
    let before = snapshot();
    let (s, _) = opened("{authStorage: 'memory'}").await;
    login(&s, "frank").await;
    assert_eq!(s.auth_state(), "authenticated");
    let token = s.signed_auth_token().unwrap();
    assert_eq!(snapshot(), before, "localStorage untouched");
    assert!(stored(&s.auth_token_name()).is_none());

    // Memory survives a reconnect of the same socket…
    let id = s.id().unwrap();
    let next = s.once("connect".into(), JsValue::UNDEFINED);
    control(
        "/disconnect",
        Some(&format!(r#"{{"socketId":"{id}","code":4444}}"#)),
    )
    .await;
    let ev = within(8_000, next).await.expect("reconnected");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(true));
    assert_eq!(s.signed_auth_token().as_deref(), Some(token.as_str()));
    // …but belongs to that socket alone.
    let (other, ev) = opened("{authStorage: 'memory'}").await;
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    within(5_000, s.deauthenticate()).await.unwrap();
    assert_eq!(snapshot(), before, "localStorage still untouched");
    s.disconnect(None, None).unwrap();
    other.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn session_storage_keeps_the_token_in_session_storage() {
    let key = "sockline-test.session";
    let session = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    session.remove_item(key).unwrap();
    let before = snapshot();
    let (s, _) = opened(&format!(
        "{{authStorage: 'session', authTokenName: '{key}'}}"
    ))
    .await;
    login(&s, "gina").await;
    let token = s.signed_auth_token().unwrap();
    assert_eq!(
        session.get_item(key).unwrap().as_deref(),
        Some(token.as_str())
    );
    assert_eq!(snapshot(), before, "localStorage untouched");
    let (second, ev) = opened(&format!(
        "{{authStorage: 'session', authTokenName: '{key}'}}"
    ))
    .await;
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(true));
    within(5_000, s.deauthenticate()).await.unwrap();
    assert_eq!(session.get_item(key).unwrap(), None);
    s.disconnect(None, None).unwrap();
    second.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn a_custom_async_storage_object_is_used() {
    let before = snapshot();
    let store = js(r#"{
        map: new Map(),
        log: [],
        later(v) { return new Promise((r) => setTimeout(() => r(v), 20)); },
        loadToken(name) { this.log.push(['load', name]); return this.later(this.map.get(name) ?? null); },
        saveToken(name, token) { this.log.push(['save', name, token]); this.map.set(name, token); return this.later(token); },
        removeToken(name) { this.log.push(['remove', name]); this.map.delete(name); return this.later(null); },
    }"#);
    let opts = js("{authTokenName: 'custom-key'}");
    Reflect::set(&opts, &"authStorage".into(), &store).unwrap();
    let s = connect(&main_url(), opts.clone()).expect("connect");
    let ev = within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    let log = || -> Vec<String> {
        get(&store, "log")
            .unchecked_into::<Array>()
            .iter()
            .map(|e| json(&e))
            .collect()
    };
    assert!(
        log().contains(&r#"["load","custom-key"]"#.to_string()),
        "{:?}",
        log()
    );

    login(&s, "hank").await;
    let token = s.signed_auth_token().unwrap();
    assert!(
        log().contains(&format!(r#"["save","custom-key","{token}"]"#)),
        "{:?}",
        log()
    );

    // A second socket loads the token through the Promise and starts authenticated.
    let second = connect(&main_url(), opts.clone()).expect("connect");
    let ev = within(5_000, second.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect");
    assert_eq!(
        get(&ev, "isAuthenticated").as_bool(),
        Some(true),
        "{}",
        json(&ev)
    );
    assert_eq!(whoami(&second).await.as_deref(), Some("hank"));

    within(5_000, s.deauthenticate()).await.unwrap();
    assert!(
        log().contains(&r#"["remove","custom-key"]"#.to_string()),
        "{:?}",
        log()
    );
    assert!(call(&get(&store, "map"), "get", &["custom-key".into()]).is_undefined());
    assert_eq!(snapshot(), before, "localStorage untouched");

    // A storage object whose methods reject does not break the socket.
    let failing = js(r#"{
        loadToken() { return Promise.reject(new Error('load failed')); },
        saveToken() { return Promise.reject(new Error('save failed')); },
        removeToken() { throw new Error('remove failed'); },
    }"#);
    let opts = js("{}");
    Reflect::set(&opts, &"authStorage".into(), &failing).unwrap();
    let third = connect(&main_url(), opts).expect("connect");
    let ev = within(5_000, third.once("connect".into(), JsValue::UNDEFINED))
        .await
        .expect("connect despite a failing loadToken");
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false));
    login(&third, "ivy").await;
    assert_eq!(third.auth_state(), "authenticated");
    within(5_000, third.deauthenticate()).await.unwrap();
    assert_eq!(
        emit(&third, "echo", 3.into()).await.unwrap().as_f64(),
        Some(3.0)
    );

    s.disconnect(None, None).unwrap();
    second.disconnect(None, None).unwrap();
    third.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn auth_token_getter_decodes_the_payload() {
    let key = "sockline-test.decode";
    local().remove_item(key).unwrap();
    let (s, _) = opened(&format!("{{authTokenName: '{key}'}}")).await;
    let id = s.id().unwrap();
    let authed = s.once("authenticate".into(), JsValue::UNDEFINED);
    control(
        "/setAuthToken",
        Some(&format!(
            r#"{{"socketId":"{id}","payload":{{"username":"Zoë 😀 名前","roles":["a","b"],"n":5}}}}"#
        )),
    )
    .await;
    let ev = within(5_000, authed).await.expect("authenticate");
    let t = s.auth_token();
    assert_eq!(str_field(&t, "username").as_deref(), Some("Zoë 😀 名前"));
    assert_eq!(json(&get(&t, "roles")), r#"["a","b"]"#);
    assert_eq!(get(&t, "n").as_f64(), Some(5.0));
    let iat = get(&t, "iat").as_f64().expect("iat");
    assert_eq!(get(&t, "exp").as_f64(), Some(iat + 86_400.0));
    assert_eq!(json(&get(&ev, "authToken")), json(&t));
    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn malformed_tokens_in_storage_give_null_and_an_error_event() {
    let key = "sockline-test.malformed";
    for bad in [
        "not-a-jwt",
        "a.b.c.d",
        "a.!!!.c",
        "eyJhbGciOiJIUzI1NiJ9.eyJhIjo.c2ln",
    ] {
        local().set_item(key, bad).unwrap();
        let s = open(&format!("{{authTokenName: '{key}', autoConnect: false}}"));
        assert!(s.auth_token().is_null(), "{bad}");
        let (rec, errors) = recorder();
        s.on("error".into(), rec.into()).unwrap();
        s.connect();
        let ev = within(5_000, s.once("connect".into(), JsValue::UNDEFINED))
            .await
            .expect("connect");
        assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(false), "{bad}");
        assert_eq!(
            error_name(&get(&ev, "authError")),
            "AuthTokenInvalidError",
            "{bad}"
        );
        let errs = calls_of(&errors);
        assert_eq!(errs.len(), 1, "{bad}: one error event");
        assert!(errs[0].is_instance_of::<js_sys::Error>());
        assert_eq!(error_name(&errs[0]), "AuthTokenInvalidError", "{bad}");
        assert!(
            !error_message(&errs[0]).contains(bad),
            "{bad}: token not in the message"
        );
        assert!(s.auth_token().is_null(), "{bad}");
        assert_eq!(s.auth_state(), "unauthenticated");
        assert!(
            until(3_000, || stored(key).is_none()).await,
            "{bad}: removed"
        );
        assert_eq!(
            emit(&s, "echo", 7.into()).await.unwrap().as_f64(),
            Some(7.0),
            "{bad}: usable"
        );
        s.disconnect(None, None).unwrap();
    }
    local().remove_item(key).unwrap();
}

#[wasm_bindgen_test]
async fn blocked_local_storage_falls_back_to_memory_with_one_notice() {
    // Simulate a browser that refuses localStorage (private mode, blocked storage).
    // Window attributes may be own properties of `window` or live on its prototype: keep the
    // original descriptor and put it back afterwards.
    js("(globalThis.__slSaved = Object.getOwnPropertyDescriptor(globalThis, 'localStorage') || null, \
        Object.defineProperty(globalThis, 'localStorage', {configurable: true, get() { \
            throw new DOMException('blocked', 'SecurityError'); }}))");
    let s = open("{authTokenName: 'sockline-test.blocked'}");
    let (rec, errors) = recorder();
    s.on("error".into(), rec.into()).unwrap();
    let first = within(5_000, s.once("connect".into(), JsValue::UNDEFINED)).await;
    let logged_in = match &first {
        Ok(_) => emit(&s, "login", js("{username: 'jack'}")).await,
        Err(e) => Err(e.clone()),
    };
    let id = s.id();
    let reconnected = match id {
        Some(id) if logged_in.is_ok() => {
            let next = s.once("connect".into(), JsValue::UNDEFINED);
            control(
                "/disconnect",
                Some(&format!(r#"{{"socketId":"{id}","code":4444}}"#)),
            )
            .await;
            within(8_000, next).await
        }
        _ => Err("skipped".into()),
    };
    // Restore before asserting anything.
    js("(globalThis.__slSaved ? Object.defineProperty(globalThis, 'localStorage', globalThis.__slSaved) \
        : delete globalThis.localStorage)");
    assert!(
        matches!(web_sys::window().unwrap().local_storage(), Ok(Some(_))),
        "restored"
    );

    first.expect("connect");
    logged_in.expect("login");
    let ev = reconnected.expect("reconnected");
    assert_eq!(
        get(&ev, "isAuthenticated").as_bool(),
        Some(true),
        "kept in memory"
    );
    assert_eq!(s.auth_state(), "authenticated");
    let errs = calls_of(&errors);
    let notices: Vec<_> = errs
        .iter()
        .filter(|e| error_name(e) == "StorageError")
        .collect();
    assert_eq!(
        notices.len(),
        1,
        "one notice: {:?}",
        errs.iter().map(error_message).collect::<Vec<_>>()
    );
    let token = s.signed_auth_token().unwrap();
    assert!(!error_message(notices[0]).contains(&token));
    assert!(stored("sockline-test.blocked").is_none());
    s.disconnect(None, None).unwrap();
}

#[wasm_bindgen_test]
async fn deauthenticate_during_the_handshake_wins() {
    let key = "sockline-test.race";
    let token = server_token(r#"{"username":"kate"}"#).await;
    local().set_item(key, &token).unwrap();
    let ids = |v: JsValue| -> Vec<String> {
        get(&v, "main")
            .unchecked_into::<Array>()
            .iter()
            .filter_map(|i| i.as_string())
            .collect()
    };
    let before = ids(control("/sockets?server=main", None).await);
    // Every chunk through the proxy waits 400 ms, so the handshake reply is on its way for a while
    // after the server recorded the handshake.
    control(
        "/proxy",
        Some(r#"{"name":"main","mode":"delay","delayMs":400}"#),
    )
    .await;
    let s = connect(
        &proxy_main_url(),
        js(&format!("{{authTokenName: '{key}'}}")),
    )
    .unwrap();
    let connected = s.once("connect".into(), JsValue::UNDEFINED);
    let mut handshaking = false;
    let start = js_sys::Date::now();
    while !handshaking && js_sys::Date::now() - start < 5_000.0 {
        for id in ids(control("/sockets?server=main", None).await) {
            if !before.contains(&id)
                && received(&id)
                    .await
                    .iter()
                    .any(|f| str_field(f, "event").as_deref() == Some("#handshake"))
            {
                handshaking = true;
            }
        }
    }
    let state_then = s.state();
    if handshaking {
        within(5_000, s.deauthenticate()).await.unwrap();
    }
    let ev = within(5_000, connected).await;
    control("/proxy", Some(r#"{"name":"main","mode":"pass"}"#)).await;
    assert!(handshaking, "saw the handshake on the server");
    assert_eq!(
        state_then, "connecting",
        "deauthenticate() came before the reply"
    );
    let ev = ev.expect("connect");
    // The server accepted the token, but the user's deauthenticate() came after that.
    assert_eq!(get(&ev, "isAuthenticated").as_bool(), Some(true));
    assert_eq!(s.auth_state(), "unauthenticated");
    assert!(s.signed_auth_token().is_none());
    assert_eq!(stored(key), None);
    assert_eq!(whoami(&s).await, None, "the server was told too");
    s.disconnect(None, None).unwrap();
    local().remove_item(key).unwrap();
}
