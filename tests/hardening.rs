//! Browser tests of issue 9 (socket side): the SDK used the way a careless page and a hostile
//! server use it. The scenarios run in `tests/js/hardening.js` through the generated glue (what a
//! page calls), against the real fixtures; these tests check what they saw.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/js/hardening.js")]
extern "C" {
    #[wasm_bindgen(js_name = wrongArguments)]
    fn wrong_arguments(url: &str) -> Promise;
    #[wasm_bindgen(js_name = acceptedArguments)]
    fn accepted_arguments(url: &str) -> Promise;
    #[wasm_bindgen(js_name = urlRules)]
    fn url_rules(cases: &str) -> Promise;
    #[wasm_bindgen(js_name = onceTimeouts)]
    fn once_timeouts(url: &str) -> Promise;
    #[wasm_bindgen(js_name = sendWrapperDisconnects)]
    fn send_wrapper_disconnects(url: &str) -> Promise;
    #[wasm_bindgen(js_name = wrappedGlobals)]
    fn wrapped_globals(url: &str, mode: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = closeCodesFromListeners)]
    fn close_codes_from_listeners(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = selfCloseCode)]
    fn self_close_code(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = disconnectWhileConnecting)]
    fn disconnect_while_connecting(url: &str) -> Promise;
    #[wasm_bindgen(js_name = frameAfterUnsubscribe)]
    fn frame_after_unsubscribe(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = frameReadInAWatcher)]
    fn frame_read_in_a_watcher(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = lyingEncoder)]
    fn lying_encoder(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = binaryFrames)]
    fn binary_frames(url: &str) -> Promise;
    #[wasm_bindgen(js_name = forgingEncoder)]
    fn forging_encoder(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = throwingParse)]
    fn throwing_parse(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = throwingSetTimeout)]
    fn throwing_set_timeout(url: &str) -> Promise;
    #[wasm_bindgen(js_name = throwingWebSocket)]
    fn throwing_web_socket(url: &str) -> Promise;
    #[wasm_bindgen(js_name = frameAfterDisconnect)]
    fn frame_after_disconnect(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = hostileServerErrors)]
    fn hostile_server_errors(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = freeCloses)]
    fn free_closes(url: &str, control: &str, sse: &str) -> Promise;
    #[wasm_bindgen(js_name = channelFree)]
    fn channel_free(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = closeTexts)]
    fn close_texts(url: &str, control: &str) -> Promise;
    #[wasm_bindgen(js_name = sameModule)]
    fn same_module(socket: &JsValue) -> Promise;
}

async fn run(ms: u32, p: Promise) -> JsValue {
    within(ms, p)
        .await
        .unwrap_or_else(|e| panic!("scenario failed: {}", json_or_string(&e)))
}

fn json_or_string(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| {
            let m = error_message(v);
            (!m.is_empty()).then(|| format!("{}: {m}", error_name(v)))
        })
        .unwrap_or_else(|| json(v))
}

fn field(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| get(&v, k))
}

/// `[{code, reason}]` the server saw, as JSON text.
fn closes(v: &JsValue, key: &str) -> String {
    json(&get(v, key))
}

#[wasm_bindgen_test]
async fn the_scenarios_drive_the_module_under_test() {
    let s: JsValue = sockline::js::socket::connect(&main_url(), js("{autoConnect: false}"))
        .expect("connect")
        .into();
    assert_eq!(run(5_000, same_module(&s)).await.as_bool(), Some(true));
}

// ---- item 1: no RefCell borrow across a call into JS ------------------------------------------

#[wasm_bindgen_test]
async fn a_send_wrapper_that_disconnects_leaves_the_socket_usable() {
    let r = run(20_000, send_wrapper_disconnects(&main_url())).await;
    assert_eq!(get(&r, "called").as_bool(), Some(true), "{}", json(&r));
    assert_eq!(json(&get(&r, "errors")), "[]", "{}", json(&r));
    assert_eq!(json(&get(&r, "uncaught")), "[]", "{}", json(&r));
    assert_eq!(
        get(&r, "stateAfter").as_string().as_deref(),
        Some("closed"),
        "{}",
        json(&r)
    );
    assert_eq!(
        get(&r, "echo").as_string().as_deref(),
        Some("still usable"),
        "{}",
        json(&r)
    );
}

#[wasm_bindgen_test]
async fn wrapped_globals_that_call_back_into_the_socket_never_trap() {
    for mode in ["calls", "lifecycle"] {
        let r = run(30_000, wrapped_globals(&main_url(), mode, &control_url())).await;
        assert_eq!(json(&get(&r, "errors")), "[]", "{mode}: {}", json(&r));
        assert_eq!(json(&get(&r, "uncaught")), "[]", "{mode}: {}", json(&r));
        assert_eq!(
            get(&r, "echo").as_string().as_deref(),
            Some("still usable"),
            "{mode}: {}",
            json(&r)
        );
        // The wrappers were in the way: a lifecycle run (closing and reopening all the time)
        // may never get as far as parsing a reply.
        let seen = json(&get(&r, "seen"));
        let used: &[&str] = if mode == "calls" {
            &[
                "send",
                "new WebSocket",
                "setTimeout",
                "clearTimeout",
                "Date.now",
                "addEventListener",
                "removeEventListener",
                "getItem",
                "JSON.parse",
                "encodeInto",
                "close",
            ]
        } else {
            &[
                "new WebSocket",
                "setTimeout",
                "Date.now",
                "addEventListener",
                "close",
            ]
        };
        for name in used {
            assert!(
                seen.contains(&format!("\"{name}\"")),
                "{mode}: {name} not used: {seen}"
            );
        }
    }
}

// ---- items 2, 10, 13: arguments ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn wrongly_typed_arguments_throw_invalid_arguments_error() {
    let bad = run(10_000, wrong_arguments(&main_url())).await;
    assert_eq!(json(&bad), "[]", "not InvalidArgumentsError");
}

/// URL rules and messages cases: (url, query).
const URL_CASES: &[(&str, Option<&str>)] = &[
    ("ws://localhost:8000", None),
    ("HTTP://Example.COM:80", None),
    ("https://example.com/x?a=1#h", Some("b=2")),
    ("wss://example.com:443/", Some("?a=1&a=2")),
    ("https://example.com:80/p/", None),
    ("ws://[::1]:9/", None),
    ("ws://h/?", Some("???a")),
    ("ws://h/??x", Some("y z&é")),
    ("ws://h/p?", Some("")),
    ("ws://h/???x", Some("y")),
    ("ws://user:pw@ünïcode.example/é#", None),
    ("/", None),
    ("/path?x#y", Some("q=1")),
    ("//evil.example/x", None),
    ("not a url", None),
    ("", None),
    ("relative/path", None),
    ("ftp://x/", None),
    ("javascript:alert(1)", None),
    ("ws://", None),
];

#[wasm_bindgen_test]
async fn url_rules_and_messages_are_the_same_in_both_faces() {
    let cases: Vec<_> = URL_CASES
        .iter()
        .map(|&(u, q)| serde_json::json!([u, q]))
        .collect();
    let from_js = run(
        10_000,
        url_rules(&serde_json::Value::from(cases).to_string()),
    )
    .await;
    let from_js: Vec<Vec<String>> = serde_json::from_str(&json(&from_js)).unwrap();
    for (&(url, query), js_face) in URL_CASES.iter().zip(&from_js) {
        let opts = sockline::SocketOptions {
            auto_connect: false,
            storage: sockline::AuthStorage::Memory,
            ..Default::default()
        };
        let rust_face = match sockline::Socket::with_query(url, query, opts) {
            Ok(s) => vec![s.url(), s.auth_token_name()],
            Err(e) => vec!["InvalidArgumentsError".to_string(), e.message],
        };
        assert_eq!(js_face, &rust_face, "{url:?} with query {query:?}");
    }
    let origin = web_sys::window().unwrap().location().host().unwrap();
    let expect = |i: usize, url: &str, name: &str| {
        assert_eq!(
            from_js[i],
            [
                url.replace("ORIGIN", &origin),
                name.replace("ORIGIN", &origin)
            ]
        )
    };
    expect(
        1,
        "ws://example.com/socketcluster/",
        "socketcluster.authToken.example.com:80",
    );
    expect(
        2,
        "wss://example.com/x?a=1&b=2",
        "socketcluster.authToken.example.com:443",
    );
    expect(
        5,
        "ws://[::1]:9/socketcluster/",
        "socketcluster.authToken.[::1]:9",
    );
    expect(
        7,
        "ws://h/socketcluster/?x&y%20z&%C3%A9",
        "socketcluster.authToken.h:80",
    );
    expect(
        12,
        "ws://ORIGIN/path?x&q=1",
        "socketcluster.authToken.ORIGIN",
    );
    let bad = "InvalidArgumentsError";
    let hint = "(use an absolute ws:, wss:, http: or https: URL, or a path starting with /)";
    assert_eq!(
        from_js[14],
        [bad.to_string(), format!("Invalid URL: not a url {hint}")]
    );
    assert_eq!(
        from_js[15],
        [bad.to_string(), format!("Invalid URL:  {hint}")]
    );
    let scheme = "Invalid URL scheme ftp: (use ws:, wss:, http: or https:)";
    assert_eq!(from_js[17], [bad, scheme]);
}

#[wasm_bindgen_test]
async fn url_objects_relative_paths_and_well_formed_names_are_accepted() {
    let r = run(10_000, accepted_arguments(&main_url())).await;
    assert_eq!(get(&r, "urlObject").as_string(), Some(main_url()));
    assert_eq!(get(&r, "urlObjectNew").as_string(), Some(main_url()));
    let origin = web_sys::window().unwrap().location().host().unwrap();
    let page = format!("ws://{origin}/socketcluster/");
    assert_eq!(get(&r, "relative").as_string(), Some(page.clone()));
    assert_eq!(get(&r, "root").as_string(), Some(page));
    assert_eq!(get(&r, "sameAsFffd").as_bool(), Some(true));
    assert_eq!(get(&r, "pairOk").as_bool(), Some(true));
    assert_eq!(json(&get(&r, "subsDefault")), "[]");
    assert_eq!(
        json(&get(&r, "subs")),
        r#"["c\ufffd","emoji😀"]"#.replace("\\ufffd", "\u{fffd}")
    );
}

#[wasm_bindgen_test]
async fn once_with_infinity_waits_and_big_timeouts_are_clamped() {
    let r = run(10_000, once_timeouts(&main_url())).await;
    assert_eq!(json(&r), r#"{"short":"TimeoutError"}"#);
}

// ---- item 3: close codes reach the server -----------------------------------------------------

#[wasm_bindgen_test]
async fn close_codes_asked_for_inside_listeners_reach_the_server() {
    let r = run(
        40_000,
        close_codes_from_listeners(&main_url(), &control_url()),
    )
    .await;
    assert_eq!(
        closes(&r, "reconnectInConnect"),
        r#"[{"code":4123,"reason":"r1"}]"#
    );
    assert_eq!(
        closes(&r, "disconnectInConnect"),
        r#"[{"code":4321,"reason":"r2"}]"#
    );
    assert_eq!(
        get(&r, "stateAfterDisconnectInConnect")
            .as_string()
            .as_deref(),
        Some("closed")
    );
    assert_eq!(
        closes(&r, "disconnectInServerEvent"),
        r#"[{"code":4322,"reason":"r3"}]"#
    );
    assert_eq!(
        closes(&r, "reconnectInServerEvent"),
        r#"[{"code":4124,"reason":"r4"}]"#
    );
}

#[wasm_bindgen_test]
async fn a_ping_timeout_self_close_reaches_the_server_as_4000_before_the_retry() {
    let r = run(20_000, self_close_code(&main_url(), &control_url())).await;
    assert_eq!(get(&r, "newId").as_bool(), Some(true), "{}", json(&r));
    assert_eq!(
        closes(&r, "closes"),
        r#"[{"code":4000,"reason":"Server ping timed out"}]"#
    );
}

#[wasm_bindgen_test]
async fn disconnect_in_a_connecting_listener_opens_no_websocket() {
    let r = run(10_000, disconnect_while_connecting(&main_url())).await;
    assert_eq!(get(&r, "constructed").as_f64(), Some(0.0), "{}", json(&r));
    assert_eq!(get(&r, "state").as_string().as_deref(), Some("closed"));
    assert_eq!(get(&r, "pendingReconnect").as_bool(), Some(false));
}

// ---- item 4: nothing after unsubscribe / disconnect -------------------------------------------

#[wasm_bindgen_test]
async fn nothing_reaches_a_channel_after_its_unsubscribe_within_one_frame() {
    let r = run(20_000, frame_after_unsubscribe(&main_url(), &control_url())).await;
    assert_eq!(json(&r), r#"{"a":[1],"b":[3,7],"c":[5]}"#);
}

/// Binary frames are read as UTF-8 (invalid bytes become U+FFFD), as the server reads them.
#[wasm_bindgen_test]
async fn binary_frames_are_read_as_utf8() {
    let r = run(20_000, binary_frames(&main_url())).await;
    assert_eq!(
        json(&get(&r, "got")),
        "[\"é ✓ binary\",\"bad \u{fffd} byte\"]"
    );
    assert_eq!(get(&r, "echo").as_string().as_deref(), Some("still usable"));
}

/// A page whose `TextEncoder.prototype.encodeInto` reports impossible byte counts (the frame
/// read encodes long frames with it): every message still arrives and nothing traps.
#[wasm_bindgen_test]
async fn a_lying_text_encoder_loses_no_frame_and_traps_nothing() {
    let r = run(40_000, lying_encoder(&main_url(), &control_url())).await;
    assert_eq!(json(&get(&r, "uncaught")), "[]", "{}", json(&r));
    assert_eq!(json(&get(&r, "got")), "[300,300,300,300,300,300,300]");
    assert_eq!(get(&r, "echo").as_string().as_deref(), Some("still usable"));
}

/// A page whose `encodeInto` writes another valid frame than the one it was given: the message
/// that cannot be read out of the page's own frame is reported, and the socket goes on.
#[wasm_bindgen_test]
async fn a_forging_text_encoder_costs_one_message_not_the_socket() {
    let r = run(20_000, forging_encoder(&main_url(), &control_url())).await;
    assert_eq!(json(&get(&r, "got")), "[300]", "{}", json(&r));
    assert_eq!(get(&r, "reported").as_f64(), Some(1.0), "{}", json(&r));
    assert_eq!(get(&r, "echo").as_string().as_deref(), Some("still usable"));
}

/// A page whose `JSON.parse` throws on a frame's channel messages: that delivery is reported,
/// and the socket goes on (nothing thrown while the wasm delivers may leave its pump busy).
#[wasm_bindgen_test]
async fn a_throwing_json_parse_costs_one_delivery_not_the_socket() {
    let r = run(20_000, throwing_parse(&main_url(), &control_url())).await;
    assert_eq!(get(&r, "thrown").as_f64(), Some(1.0), "{}", json(&r));
    assert_eq!(get(&r, "reported").as_f64(), Some(1.0), "{}", json(&r));
    assert_eq!(json(&get(&r, "got")), "[0,1]", "{}", json(&r));
    assert_eq!(get(&r, "echo").as_string().as_deref(), Some("still usable"));
}

/// A page whose `setTimeout` throws while the socket arms its timer: the calls made then do not
/// throw, nothing traps, and the socket answers (and times calls out) once timers work again.
#[wasm_bindgen_test]
async fn a_throwing_set_timeout_traps_nothing_and_the_socket_goes_on() {
    let r = run(20_000, throwing_set_timeout(&main_url())).await;
    assert_eq!(json(&get(&r, "thrown")), "[]", "{}", json(&r));
    assert_eq!(json(&get(&r, "uncaught")), "[]", "{}", json(&r));
    assert_eq!(get(&r, "echo").as_string().as_deref(), Some("still usable"));
    assert_eq!(get(&r, "late").as_string().as_deref(), Some("TimeoutError"));
}

/// A page's `WebSocket` constructor that throws costs a connection attempt (1006), not a throw
/// or a trap; the socket opens once the constructor works.
#[wasm_bindgen_test]
async fn a_throwing_websocket_constructor_is_a_lost_connection() {
    let r = run(20_000, throwing_web_socket(&main_url())).await;
    assert_eq!(json(&get(&r, "thrown")), "[]", "{}", json(&r));
    assert_eq!(json(&get(&r, "uncaught")), "[]", "{}", json(&r));
    assert_eq!(json(&get(&r, "aborts")), "[1006,1006]", "{}", json(&r));
    assert_eq!(get(&r, "made").as_f64(), Some(3.0), "{}", json(&r));
    assert_eq!(get(&r, "echo").as_string().as_deref(), Some("still usable"));
}

/// A channel message sliced out of its frame comes from that frame even when a watcher before
/// it made the page read another socket's frame.
#[wasm_bindgen_test]
async fn a_frame_read_inside_a_watcher_does_not_change_the_messages_after_it() {
    let r = run(20_000, frame_read_in_a_watcher(&main_url(), &control_url())).await;
    assert_eq!(json(&r), r#"{"x":[1],"y":[2],"z":["for b"]}"#);
}

#[wasm_bindgen_test]
async fn nothing_is_delivered_after_disconnect_within_one_frame() {
    let r = run(20_000, frame_after_disconnect(&main_url(), &control_url())).await;
    assert_eq!(json(&get(&r, "events")), r#"["e1"]"#);
    assert_eq!(json(&get(&r, "messages")), "[1]");
}

// ---- item 5: server-controlled error objects --------------------------------------------------

#[wasm_bindgen_test]
async fn server_errors_are_real_errors_with_plain_own_fields() {
    let r = run(40_000, hostile_server_errors(&main_url(), &control_url())).await;
    for case in ["proto", "protoNull", "nameNotString", "string", "array"] {
        let e = get(&r, case);
        for check in ["isError", "protoIsError", "ctorIsError"] {
            assert_eq!(
                get(&e, check).as_bool(),
                Some(true),
                "{case}.{check}: {}",
                json(&e)
            );
        }
        assert!(get(&e, "polluted").is_null(), "{case}: {}", json(&e));
        assert!(get(&e, "pollutedGlobal").is_null(), "{case}: {}", json(&e));
        let printed = get(&e, "printed").as_string().unwrap();
        assert!(!printed.starts_with("THREW"), "{case}: {printed}");
    }
    let p = get(&r, "proto");
    assert_eq!(field(&p, "name").as_string().as_deref(), Some("Evil"));
    assert_eq!(field(&p, "message").as_string().as_deref(), Some("m"));
    assert_eq!(field(&p, "extra").as_f64(), Some(5.0));
    assert_eq!(json(&field(&p, "ownKeys")), r#"["extra","name"]"#);
    assert_eq!(json(&field(&r, "protoNull.ownKeys")), r#"["name"]"#);
    assert_eq!(
        field(&r, "nameNotString.message").as_string().as_deref(),
        Some("Invalid error message format")
    );
    assert_eq!(
        field(&r, "string.value").as_string().as_deref(),
        Some("Error message")
    );
    assert_eq!(
        field(&r, "string.message").as_string().as_deref(),
        Some("Error message")
    );
    assert_eq!(json(&field(&r, "array.value")), "[1,2]");
}

// ---- item 11: free() -------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn free_closes_a_socket_and_an_event_stream() {
    let r = run(30_000, free_closes(&main_url(), &control_url(), &sse_url())).await;
    assert_eq!(
        closes(&r, "socketCloses"),
        r#"[{"code":1000,"reason":""}]"#,
        "{}",
        json(&r)
    );
    assert_ne!(
        get(&r, "afterFree").as_string().as_deref(),
        Some("runtime"),
        "{}",
        json(&r)
    );
    assert_eq!(get(&r, "sseOpenBefore").as_f64(), Some(1.0), "{}", json(&r));
    assert_eq!(get(&r, "sseOpenAfter").as_f64(), Some(0.0), "{}", json(&r));
}

#[wasm_bindgen_test]
async fn a_freed_channel_unsubscribes_and_the_next_object_for_its_name_works() {
    let r = run(30_000, channel_free(&main_url(), &control_url())).await;
    let name = field(&r, "channel.name").as_string().unwrap_or_default();
    assert!(name.starts_with("hx-cf-"), "{}", json(&r));
    assert_eq!(
        json(&get(&r, "afterFree")),
        format!(
            r#"{{"subscriptions":[],"socketHeard":["{name}"],"channelHeard":["unsubscribe"],"freedThrows":true}}"#
        ),
        "{}",
        json(&r)
    );
    assert_eq!(
        json(&get(&r, "channel")),
        format!(r#"{{"fresh":true,"state":"unsubscribed","name":"{name}"}}"#),
        "{}",
        json(&r)
    );
    assert_eq!(
        get(&r, "subscribeSame").as_bool(),
        Some(true),
        "{}",
        json(&r)
    );
    assert_eq!(
        get(&r, "resubscribed").as_string().as_deref(),
        Some("subscribed"),
        "{}",
        json(&r)
    );
    assert_eq!(json(&get(&r, "fresh")), "[1]", "{}", json(&r));
    assert_eq!(json(&get(&r, "loop")), "[1]", "{}", json(&r));
    assert_eq!(json(&get(&r, "old")), "[]", "{}", json(&r));
    assert_eq!(
        json(&get(&r, "afterDispose")),
        r#"{"subscriptions":[],"state":"unsubscribed"}"#,
        "{}",
        json(&r)
    );
    assert_eq!(
        json(&get(&r, "neverSubscribed")),
        format!(
            r#"{{"state":"unsubscribed","name":"hx-cf2-{}"}}"#,
            &name[6..]
        ),
        "{}",
        json(&r)
    );
}

// ---- item 16: socketcluster-client's close texts, undefined reasons ------------------------

#[wasm_bindgen_test]
async fn close_errors_use_standard_texts_and_absent_reasons_are_undefined() {
    let r = run(30_000, close_texts(&main_url(), &control_url())).await;
    assert_eq!(
        json(&get(&r, "server4001")),
        r#"{"name":"SocketProtocolError","code":4001,"message":"Client pong timed out","disconnect":{"code":4001,"reason":"custom"}}"#
    );
    assert_eq!(
        get(&r, "server1011").as_string().as_deref(),
        Some("Server encountered an unexpected fatal condition")
    );
    assert_eq!(
        json(&get(&r, "pageNoReason")),
        r#"{"disconnectHasReason":true,"disconnectReason":"undefined","closeReason":"undefined","error":"Socket connection closed with status code 4321"}"#
    );
    assert_eq!(
        get(&r, "pageDefault").as_string().as_deref(),
        Some("undefined")
    );
    assert_eq!(
        get(&r, "pageWithReason").as_string().as_deref(),
        Some("given")
    );
}
