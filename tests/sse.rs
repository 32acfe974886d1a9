//! Browser tests of `EventStream` (JS class and Rust API) against the SSE fixture
//! (`tests/fixtures/sse.js`, port base+6) and its control routes (`/sse/*`, port base).
//! Every test runs with its own fixture `key`; every wait is bounded.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::sse::*;
use common::*;
use js_sys::{Array, Function, Promise, Reflect};
use sockline::js::event_stream::JsEventStream;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn field(c: &Calls, i: usize, key: &str) -> JsValue {
    c.borrow()
        .get(i)
        .map(|a| get(&a.get(0), key))
        .unwrap_or(JsValue::UNDEFINED)
}

fn nums(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// 100 counter events in order

async fn counter_in_order(transport: &str) {
    let k = key("counter");
    let es = open(
        &sse(&format!("/counter?n=100&key={k}")),
        &opts(transport, ""),
    );
    assert_eq!(es.ready_state(), 0);
    let msgs = listen(&es, "message");
    let opens = listen(&es, "open");
    assert!(
        until(8_000, || count(&msgs) >= 100).await,
        "got {}",
        count(&msgs)
    );
    assert_eq!(datas(&msgs), nums(1..=100));
    assert_eq!(count(&opens), 1);
    assert_eq!(es.ready_state(), 1);
    assert_eq!(es.last_event_id(), "100");
    assert_eq!(
        field(&msgs, 99, "lastEventId").as_string().as_deref(),
        Some("100")
    );
    assert_eq!(
        field(&msgs, 0, "type").as_string().as_deref(),
        Some("message")
    );
    assert!(es.url().starts_with("http://127.0.0.1:"));
    es.close();
    assert!(fixture_sees_closed(&k).await);
}

#[wasm_bindgen_test]
async fn counter_100_in_order_eventsource() {
    counter_in_order(ES).await;
}

#[wasm_bindgen_test]
async fn counter_100_in_order_fetch() {
    counter_in_order(FETCH).await;
}

// ---------------------------------------------------------------------------------------------
// The stream drops every 10 events: all 100 arrive, each exactly once, resumed from the last id

async fn drop_every_10(transport: &str, path: &str) {
    let k = key("drop");
    let es = open(&sse(&format!("{path}&key={k}")), &opts(transport, ""));
    let msgs = listen(&es, "message");
    let reconnecting = listen(&es, "reconnecting");
    assert!(
        until(15_000, || count(&msgs) >= 100).await,
        "got {}",
        count(&msgs)
    );
    // nothing more (no duplicates) arrives while the stream keeps reconnecting
    sleep(200).await;
    assert_eq!(datas(&msgs), nums(1..=100));
    assert!(count(&reconnecting) >= 9);
    let st = stats(&k).await;
    let resumes: Vec<f64> = Array::from(&get(&st, "lastEventIds"))
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    let want: Vec<f64> = (0..10).map(|i| f64::from(i * 10)).collect();
    assert_eq!(
        resumes.get(..10),
        Some(&want[..]),
        "resume points {resumes:?}"
    );
    es.close();
    assert!(fixture_sees_closed(&k).await);
}

#[wasm_bindgen_test]
async fn dropped_every_10_all_once_eventsource() {
    drop_every_10(ES, "/drop?every=10&n=100").await;
}

#[wasm_bindgen_test]
async fn dropped_every_10_all_once_fetch() {
    drop_every_10(FETCH, "/drop?every=10&n=100").await;
}

/// The server replays 3 already-delivered events after every reconnect: none is delivered twice.
async fn replayed_overlap_is_deduplicated(transport: &str) {
    let k = key("overlap");
    let es = open(
        &sse(&format!("/drop?every=10&overlap=3&n=50&key={k}")),
        &opts(transport, ""),
    );
    let msgs = listen(&es, "message");
    assert!(
        until(15_000, || count(&msgs) >= 50).await,
        "got {}",
        count(&msgs)
    );
    sleep(200).await;
    assert_eq!(datas(&msgs), nums(1..=50));
    assert_eq!(es.last_event_id(), "50");
    es.close();
}

#[wasm_bindgen_test]
async fn replayed_ids_not_delivered_twice_eventsource() {
    replayed_overlap_is_deduplicated(ES).await;
}

#[wasm_bindgen_test]
async fn replayed_ids_not_delivered_twice_fetch() {
    replayed_overlap_is_deduplicated(FETCH).await;
}

#[wasm_bindgen_test]
async fn better_sse_server_dropped_every_10_eventsource() {
    drop_every_10(ES, "/better?every=10&n=100").await;
}

#[wasm_bindgen_test]
async fn better_sse_server_dropped_every_10_fetch() {
    drop_every_10(FETCH, "/better?every=10&n=100").await;
}

// ---------------------------------------------------------------------------------------------
// 500: retried with growing delays, opens once the endpoint recovers

async fn status_500_then_recovers(transport: &str) {
    let k = key("s500");
    let es = open(
        &sse(&format!("/status?code=500&n=3&key={k}")),
        &opts(transport, ""),
    );
    let errors = listen(&es, "error");
    let reconnecting = listen(&es, "reconnecting");
    let msgs = listen(&es, "message");
    assert!(until(5_000, || count(&reconnecting) >= 4).await);
    let delays: Vec<f64> = (0..4)
        .filter_map(|i| field(&reconnecting, i, "delay").as_f64())
        .collect();
    assert_eq!(delays, vec![40.0, 80.0, 160.0, 320.0]);
    let attempts: Vec<f64> = (0..4)
        .filter_map(|i| field(&reconnecting, i, "attempt").as_f64())
        .collect();
    assert_eq!(attempts, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(count(&msgs) == 0 && es.ready_state() == 0);
    let err = errors.borrow()[0].get(0);
    assert_eq!(error_name(&err), "EventStreamError");
    if transport == FETCH {
        assert_eq!(get(&err, "status").as_f64(), Some(500.0));
    }
    control("/sse/recover", Some(&format!("{{\"key\":\"{k}\"}}"))).await;
    assert!(until(8_000, || count(&msgs) >= 3).await);
    assert_eq!(datas(&msgs), nums(1..=3));
    assert_eq!(es.ready_state(), 1);
    es.close();
    assert!(fixture_sees_closed(&k).await);
}

#[wasm_bindgen_test]
async fn status_500_retried_then_opens_eventsource() {
    status_500_then_recovers(ES).await;
}

#[wasm_bindgen_test]
async fn status_500_retried_then_opens_fetch() {
    status_500_then_recovers(FETCH).await;
}

#[wasm_bindgen_test]
async fn status_503_honours_retry_after_fetch() {
    let k = key("s503");
    let es = open(
        &sse(&format!(
            "/status?code=503&retryAfter=1&recoverAfter=1&n=2&key={k}"
        )),
        &opts(FETCH, ""),
    );
    let reconnecting = listen(&es, "reconnecting");
    let msgs = listen(&es, "message");
    assert!(until(6_000, || count(&msgs) >= 2).await);
    assert_eq!(field(&reconnecting, 0, "delay").as_f64(), Some(1000.0));
    let times: Vec<f64> = Array::from(&get(&stats(&k).await, "times"))
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    assert!(
        times.len() == 2 && times[1] - times[0] >= 950.0,
        "{times:?}"
    );
    es.close();
}

/// `Retry-After` as an HTTP-date (an IMF-fixdate ~3 s ahead, in whole seconds): the reconnect
/// waits until then (the fetch driver reads the date; the backoff alone would wait 40 ms).
#[wasm_bindgen_test]
async fn status_503_honours_an_http_date_retry_after_fetch() {
    let k = key("s503date");
    let at = js_sys::Date::new(&JsValue::from_f64(js_sys::Date::now() + 3_000.0));
    let date = String::from(at.to_utc_string());
    let es = open(
        &sse(&format!(
            "/status?code=503&retryAfter={}&recoverAfter=1&n=2&key={k}",
            String::from(js_sys::encode_uri_component(&date))
        )),
        &opts(FETCH, ""),
    );
    let reconnecting = listen(&es, "reconnecting");
    let msgs = listen(&es, "message");
    assert!(until(8_000, || count(&msgs) >= 2).await);
    let delay = field(&reconnecting, 0, "delay").as_f64().unwrap_or(0.0);
    assert!(
        (1_500.0..=3_000.0).contains(&delay),
        "{date}: delay {delay}"
    );
    es.close();
}

#[wasm_bindgen_test]
async fn gives_up_after_max_attempts() {
    for transport in [ES, FETCH] {
        let k = key("giveup");
        let es = open(
            &sse(&format!("/status?code=500&key={k}")),
            &format!("{{transport: '{transport}', autoReconnectOptions: {{initialDelay: 20, jitter: 0, maxAttempts: 2}}}}"),
        );
        let give_up = listen(&es, "giveUp");
        let closes = listen(&es, "close");
        assert!(until(5_000, || count(&closes) == 1).await, "{transport}");
        assert_eq!(field(&give_up, 0, "attempts").as_f64(), Some(2.0));
        assert_eq!(
            field(&closes, 0, "reason").as_string().as_deref(),
            Some("giveUp")
        );
        assert_eq!(es.ready_state(), 2);
        assert_eq!(stat_num(&k, "requests").await, 3.0);
    }
}

// ---------------------------------------------------------------------------------------------
// fetch status policy: 204, 404, wrong content type, 401

#[wasm_bindgen_test]
async fn status_204_closes_without_retry_fetch() {
    let k = key("s204");
    let es = open(&sse(&format!("/nocontent?key={k}")), &opts(FETCH, ""));
    let closes = listen(&es, "close");
    let reconnecting = listen(&es, "reconnecting");
    let errors = listen(&es, "error");
    assert!(until(5_000, || count(&closes) == 1).await);
    assert_eq!(
        field(&closes, 0, "reason").as_string().as_deref(),
        Some("noContent")
    );
    assert_eq!(es.ready_state(), 2);
    sleep(300).await; // a retry would come after 40 ms
    assert_eq!((count(&reconnecting), count(&errors)), (0, 0));
    assert_eq!(stat_num(&k, "requests").await, 1.0);
}

async fn fails_with_status(path: &str, status: f64, kind: &str) {
    let k = key("fail");
    let es = open(&sse(&format!("{path}key={k}")), &opts(FETCH, ""));
    let errors = listen(&es, "error");
    let closes = listen(&es, "close");
    let reconnecting = listen(&es, "reconnecting");
    let (onerror, onerror_calls) = recorder();
    es.set_onerror(onerror.clone().into());
    assert!(es.onerror().is_function());
    assert!(until(5_000, || count(&closes) == 1).await, "{path}");
    let err = errors.borrow()[0].get(0);
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(error_name(&err), "EventStreamError");
    assert_eq!(get(&err, "status").as_f64(), Some(status), "{path}");
    assert_eq!(get(&err, "type").as_string().as_deref(), Some(kind));
    assert_eq!(count(&onerror_calls), 1);
    assert_eq!(
        field(&closes, 0, "reason").as_string().as_deref(),
        Some("error")
    );
    sleep(300).await;
    assert_eq!(count(&reconnecting), 0);
    assert_eq!(stat_num(&k, "requests").await, 1.0);
}

#[wasm_bindgen_test]
async fn status_404_fails_with_status_fetch() {
    fails_with_status("/status?code=404&", 404.0, "status").await;
}

#[wasm_bindgen_test]
async fn wrong_content_type_fails_fetch() {
    fails_with_status("/wrongtype?", 200.0, "contentType").await;
}

#[wasm_bindgen_test]
async fn status_401_without_get_headers_fails_fetch() {
    fails_with_status("/auth?", 401.0, "unauthorized").await;
}

#[wasm_bindgen_test]
async fn status_401_get_headers_supplies_token_fetch() {
    let k = key("auth");
    // The first call hands out a stale token; the retry after 401 gets the good one.
    let get_headers = js(
        "(() => { let n = 0; return async () => { n++; return {Authorization: n === 1 ? 'Bearer stale' : 'Bearer secret'}; }; })()",
    );
    let es = JsEventStream::new(sse(&format!("/auth?n=5&key={k}")).into(), {
        let o = js(&opts(FETCH, ""));
        Reflect::set(&o, &"getHeaders".into(), &get_headers).unwrap();
        o
    })
    .expect("new");
    let msgs = listen(&es, "message");
    let opens = listen(&es, "open");
    assert!(until(5_000, || count(&msgs) >= 5).await);
    assert_eq!(count(&opens), 1);
    let auths: Vec<String> = Array::from(&get(&stats(&k).await, "authorizations"))
        .iter()
        .map(|v| v.as_string().unwrap_or_default())
        .collect();
    assert_eq!(auths, vec!["Bearer stale", "Bearer secret"]);
    es.close();
}

#[wasm_bindgen_test]
async fn static_headers_are_sent_fetch() {
    let k = key("hdr");
    let es = open(
        &sse(&format!("/auth?n=2&key={k}")),
        &opts(FETCH, "headers: {Authorization: 'Bearer secret'}"),
    );
    let msgs = listen(&es, "message");
    assert!(until(5_000, || count(&msgs) >= 2).await);
    es.close();
}

#[wasm_bindgen_test]
async fn server_retry_field_is_a_floor_fetch() {
    let k = key("retry");
    let es = open(
        &sse(&format!("/retry?ms=700&n=1&key={k}")),
        &opts(FETCH, ""),
    );
    let reconnecting = listen(&es, "reconnecting");
    assert!(until(5_000, || count(&reconnecting) >= 1).await);
    assert_eq!(field(&reconnecting, 0, "delay").as_f64(), Some(700.0));
    es.close();
}

// ---------------------------------------------------------------------------------------------
// lastEventId option, named events, close()

async fn last_event_id_option(transport: &str) {
    let k = key("lei");
    let es = open(
        &sse(&format!("/counter?n=100&key={k}")),
        &opts(transport, "lastEventId: '95'"),
    );
    assert_eq!(es.last_event_id(), "95");
    let msgs = listen(&es, "message");
    assert!(until(5_000, || count(&msgs) >= 5).await);
    sleep(100).await;
    assert_eq!(datas(&msgs), nums(96..=100));
    let resumes = Array::from(&get(&stats(&k).await, "lastEventIds"));
    assert_eq!(resumes.get(0).as_f64(), Some(95.0));
    es.close();
}

#[wasm_bindgen_test]
async fn last_event_id_option_resumes_eventsource() {
    last_event_id_option(ES).await;
}

#[wasm_bindgen_test]
async fn last_event_id_option_resumes_fetch() {
    last_event_id_option(FETCH).await;
}

async fn named_events(transport: &str) {
    let k = key("named");
    let es = open(&sse(&format!("/named?key={k}")), &opts(transport, ""));
    let adds = listen(&es, "add");
    let (remove_fn, removes) = recorder();
    es.add_event_listener("remove".into(), remove_fn.into())
        .unwrap();
    let (onmessage, messages) = recorder();
    es.set_onmessage(onmessage.into());
    let update = es.once("update".into(), 5_000.into());
    let upd = within(6_000, update).await.expect("update event");
    assert_eq!(get(&upd, "data").as_string().as_deref(), Some("update-5"));
    assert_eq!(get(&upd, "type").as_string().as_deref(), Some("update"));
    assert_eq!(datas(&adds), vec!["add-1", "add-4"]);
    assert_eq!(datas(&removes), vec!["remove-2"]);
    assert_eq!(datas(&messages), vec!["message-3"]);
    assert_eq!(
        field(&adds, 1, "lastEventId").as_string().as_deref(),
        Some("4")
    );
    es.close();
}

#[wasm_bindgen_test]
async fn named_events_via_on_and_add_event_listener_eventsource() {
    named_events(ES).await;
}

#[wasm_bindgen_test]
async fn named_events_via_on_and_add_event_listener_fetch() {
    named_events(FETCH).await;
}

async fn named_listener_added_after_open(transport: &str) {
    let k = key("late");
    let es = open(
        &sse(&format!("/counter?event=tick&n=100000&delay=20&key={k}")),
        &opts(transport, ""),
    );
    within(5_000, es.once("open".into(), JsValue::UNDEFINED))
        .await
        .expect("open");
    let ticks = listen(&es, "tick");
    assert!(until(5_000, || count(&ticks) >= 3).await);
    // removeEventListener stops delivery
    let (f, calls) = recorder();
    es.add_event_listener("tick".into(), f.clone().into())
        .unwrap();
    assert!(until(5_000, || count(&calls) >= 1).await);
    es.remove_event_listener("tick".into(), f.into());
    let n = count(&calls);
    sleep(150).await;
    assert_eq!(count(&calls), n);
    es.close();
    assert!(fixture_sees_closed(&k).await);
}

#[wasm_bindgen_test]
async fn named_listener_added_after_open_eventsource() {
    named_listener_added_after_open(ES).await;
}

#[wasm_bindgen_test]
async fn named_listener_added_after_open_fetch() {
    named_listener_added_after_open(FETCH).await;
}

async fn close_stops_traffic(transport: &str) {
    let k = key("close");
    let es = open(
        &sse(&format!("/counter?n=100000&delay=20&key={k}")),
        &opts(transport, ""),
    );
    let msgs = listen(&es, "message");
    let closes = listen(&es, "close");
    assert!(until(5_000, || count(&msgs) >= 3).await);
    assert_eq!(stat_num(&k, "open").await, 1.0);
    es.close();
    es.close(); // idempotent
    assert_eq!(es.ready_state(), 2);
    assert_eq!(count(&closes), 1);
    assert_eq!(
        field(&closes, 0, "reason").as_string().as_deref(),
        Some("client")
    );
    let n = count(&msgs);
    assert!(
        fixture_sees_closed(&k).await,
        "the fixture still sees the connection"
    );
    sleep(200).await;
    assert_eq!(count(&msgs), n);
    assert_eq!(stat_num(&k, "requests").await, 1.0);
}

#[wasm_bindgen_test]
async fn close_stops_all_traffic_eventsource() {
    close_stops_traffic(ES).await;
}

#[wasm_bindgen_test]
async fn close_stops_all_traffic_fetch() {
    close_stops_traffic(FETCH).await;
}

#[wasm_bindgen_test]
async fn close_during_reconnect_wait_cancels_the_timer() {
    for transport in [ES, FETCH] {
        let k = key("closewait");
        let es = open(
            &sse(&format!("/status?code=500&key={k}")),
            &format!("{{transport: '{transport}', autoReconnectOptions: {{initialDelay: 300, jitter: 0}}}}"),
        );
        let reconnecting = listen(&es, "reconnecting");
        assert!(until(5_000, || count(&reconnecting) == 1).await);
        es.close();
        sleep(600).await;
        assert_eq!(stat_num(&k, "requests").await, 1.0, "{transport}");
    }
}

#[wasm_bindgen_test]
async fn listener_may_close_the_stream() {
    for transport in [ES, FETCH] {
        let k = key("inner");
        let es = Rc::new(open(
            &sse(&format!("/counter?n=100&key={k}")),
            &opts(transport, ""),
        ));
        let seen = Rc::new(RefCell::new(0));
        let (es2, seen2) = (es.clone(), seen.clone());
        let f = Closure::<dyn FnMut(JsValue)>::new(move |_ev: JsValue| {
            *seen2.borrow_mut() += 1;
            if *seen2.borrow() == 5 {
                es2.close();
            }
        });
        es.on("message".into(), f.as_ref().clone()).unwrap();
        let closes = listen(&es, "close");
        assert!(until(5_000, || count(&closes) == 1).await);
        sleep(100).await;
        assert_eq!(
            *seen.borrow(),
            5,
            "{transport}: events after close() in a listener"
        );
        drop(f);
    }
}

// ---------------------------------------------------------------------------------------------
// for await, once, off, options

#[wasm_bindgen_test]
async fn for_await_iterates_messages() {
    for transport in [ES, FETCH] {
        let k = key("iter");
        let es = open(
            &sse(&format!("/counter?n=20&key={k}")),
            &opts(transport, ""),
        );
        let es_js: JsValue = es.into();
        let run: Function = js(
            "async (es) => { const out = []; for await (const ev of es) { out.push(ev.data); if (out.length === 20) break; } return out; }",
        )
        .dyn_into()
        .unwrap();
        let p: Promise = run
            .call1(&JsValue::UNDEFINED, &es_js)
            .unwrap()
            .dyn_into()
            .unwrap();
        let out = within(5_000, p).await.expect("for await");
        assert_eq!(json(&out), json(&js(&format!("{:?}", nums(1..=20)))));
        // after break (return()), a closed stream ends a new iterator at once
        let close: Function = get(&es_js, "close").dyn_into().unwrap();
        close.call0(&es_js).unwrap();
        let p: Promise = run
            .call1(&JsValue::UNDEFINED, &es_js)
            .unwrap()
            .dyn_into()
            .unwrap();
        let out = within(2_000, p).await.expect("ends when closed");
        assert_eq!(json(&out), "[]");
    }
}

#[wasm_bindgen_test]
async fn for_await_ends_on_close() {
    let k = key("iterclose");
    let es = Rc::new(open(
        &sse(&format!("/counter?n=3&key={k}")),
        &opts(FETCH, ""),
    ));
    let queue = es.async_iterator();
    let next: Function = get(&queue, "next").dyn_into().unwrap();
    for i in 1..=3 {
        let r = within(5_000, next.call0(&queue).unwrap().dyn_into().unwrap())
            .await
            .unwrap();
        assert_eq!(
            get(&get(&r, "value"), "data").as_string(),
            Some(i.to_string())
        );
    }
    let pending: Promise = next.call0(&queue).unwrap().dyn_into().unwrap();
    es.close();
    let r = within(2_000, pending).await.unwrap();
    assert_eq!(get(&r, "done").as_bool(), Some(true));
}

#[wasm_bindgen_test]
async fn once_times_out_and_on_returns_remover() {
    let k = key("once");
    let es = open(
        &sse(&format!("/counter?n=100000&delay=20&key={k}")),
        &opts(FETCH, ""),
    );
    let e = within(3_000, es.once("neverSent".into(), 50.into()))
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "TimeoutError");
    let (f, calls) = recorder();
    let remove = es.on("message".into(), f.into()).unwrap();
    assert!(until(5_000, || count(&calls) >= 2).await);
    remove.call0(&JsValue::UNDEFINED).unwrap();
    let n = count(&calls);
    sleep(150).await;
    assert_eq!(count(&calls), n);
    es.close();
}

#[wasm_bindgen_test]
fn wrongly_typed_options_throw_invalid_arguments() {
    let url = sse("/counter");
    let cases = [
        ("{transport: 'websocket'}", "transport"),
        ("{transport: 1}", "transport"),
        ("{withCredentials: 'yes'}", "withCredentials"),
        ("{autoReconnectOptions: 5}", "autoReconnectOptions"),
        (
            "{autoReconnectOptions: {jitter: 'x'}}",
            "autoReconnectOptions.jitter",
        ),
        (
            "{autoReconnectOptions: {jitter: 2}}",
            "autoReconnectOptions.jitter",
        ),
        (
            "{autoReconnectOptions: {maxAttempts: 0}}",
            "autoReconnectOptions.maxAttempts",
        ),
        ("{lastEventId: {}}", "lastEventId"),
        ("{lastEventIdParam: ''}", "lastEventIdParam"),
        ("{transport: 'fetch', headers: 5}", "headers"),
        ("{transport: 'fetch', headers: {a: {}}}", "headers"),
        ("{transport: 'fetch', getHeaders: 'x'}", "getHeaders"),
        ("{headers: {a: 'b'}}", "headers"),
        ("'options'", "options"),
    ];
    for (o, name) in cases {
        let err = JsEventStream::new(url.clone().into(), js(o))
            .err()
            .expect(o);
        assert_eq!(error_name(&err), "InvalidArgumentsError", "{o}");
        assert!(
            error_message(&err).contains(name),
            "{o}: {}",
            error_message(&err)
        );
    }
    for bad_url in ["5", "'ftp://x/'", "'http://['", "{}"] {
        let err = JsEventStream::new(js(bad_url), JsValue::UNDEFINED)
            .err()
            .expect(bad_url);
        assert_eq!(error_name(&err), "InvalidArgumentsError", "{bad_url}");
    }
    // defaults and a relative URL
    let es = JsEventStream::new("/events".into(), JsValue::UNDEFINED).unwrap();
    assert!(es.url().ends_with("/events") && es.url().starts_with("http"));
    es.close();
}

#[wasm_bindgen_test]
async fn get_headers_failure_is_an_error_then_retry() {
    let k = key("ghfail");
    let o = js(&opts(FETCH, ""));
    let f = js("(() => { let n = 0; return () => { n++; if (n === 1) throw new Error('no token yet'); return {Authorization: 'Bearer secret'}; }; })()");
    Reflect::set(&o, &"getHeaders".into(), &f).unwrap();
    let es = JsEventStream::new(sse(&format!("/auth?n=2&key={k}")).into(), o).unwrap();
    let errors = listen(&es, "error");
    let msgs = listen(&es, "message");
    assert!(until(5_000, || count(&msgs) >= 2).await);
    assert_eq!(
        get(&errors.borrow()[0].get(0), "type")
            .as_string()
            .as_deref(),
        Some("headers")
    );
    es.close();
}

// ---------------------------------------------------------------------------------------------
// Rust API

#[wasm_bindgen_test]
async fn rust_api_stream_of_messages() {
    use futures::StreamExt;
    use sockline::{EventStream, EventStreamOptions, ReadyState, StreamEvent, Transport};
    for transport in [Transport::EventSource, Transport::Fetch] {
        let k = key("rust");
        let opts = EventStreamOptions {
            transport,
            backoff: sockline::BackoffConfig {
                initial_delay: 30.0,
                jitter: 0.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut es = EventStream::new(&sse(&format!("/drop?every=4&n=12&key={k}")), opts).unwrap();
        let opens = Rc::new(RefCell::new(0));
        let o = opens.clone();
        es.on("open", move |ev| {
            assert_eq!(*ev, StreamEvent::Open);
            *o.borrow_mut() += 1;
        });
        let mut got = Vec::new();
        while got.len() < 12 {
            let next = within_future(5_000, es.next())
                .await
                .expect("next in time")
                .expect("open stream");
            got.push(next.data);
        }
        assert_eq!(got, nums(1..=12));
        assert!(*opens.borrow() >= 3);
        es.close();
        assert_eq!(es.ready_state(), ReadyState::Closed);
        assert_eq!(within_future(1_000, es.next()).await.expect("ends"), None);
        assert_eq!(
            within_future(1_000, StreamExt::next(&mut es))
                .await
                .expect("ends"),
            None
        );
        drop(es);
        assert!(fixture_sees_closed(&k).await);
    }
}

#[wasm_bindgen_test]
async fn rust_api_drop_closes() {
    use sockline::{EventStream, EventStreamOptions, Transport};
    for transport in [Transport::EventSource, Transport::Fetch] {
        let k = key("rustdrop");
        let es = EventStream::new(
            &sse(&format!("/counter?n=100000&delay=20&key={k}")),
            EventStreamOptions {
                transport,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(within_future(5_000, es.next()).await.unwrap().is_some());
        drop(es);
        assert!(fixture_sees_closed(&k).await, "{transport:?}");
    }
}

async fn within_future<F: std::future::Future>(ms: u32, f: F) -> Result<F::Output, ()> {
    use futures::future::{select, Either};
    match select(Box::pin(f), gloo_timers::future::TimeoutFuture::new(ms)).await {
        Either::Left((v, _)) => Ok(v),
        Either::Right(_) => Err(()),
    }
}

#[wasm_bindgen_test]
async fn rust_api_get_headers_with_a_typed_error_is_a_headers_error_then_retry() {
    use futures::StreamExt;
    use sockline::{
        BackoffConfig, Error, ErrorKind, EventStream, EventStreamOptions, GetHeaders, StreamEvent,
        Transport,
    };
    let k = key("rustgh");
    let calls = Rc::new(RefCell::new(0u32));
    let c = calls.clone();
    let get_headers: GetHeaders = Rc::new(move || {
        *c.borrow_mut() += 1;
        let n = *c.borrow();
        Box::pin(async move {
            if n == 1 {
                Err(Error::InvalidArguments {
                    message: "no token yet".into(),
                })
            } else {
                Ok(vec![("Authorization".into(), "Bearer secret".into())])
            }
        })
    });
    let mut es = EventStream::new(
        &sse(&format!("/auth?n=2&key={k}")),
        EventStreamOptions {
            transport: Transport::Fetch,
            backoff: BackoffConfig {
                initial_delay: 30.0,
                jitter: 0.0,
                ..Default::default()
            },
            get_headers: Some(get_headers),
            ..Default::default()
        },
    )
    .unwrap();
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e = errors.clone();
    es.on("error", move |ev| {
        if let StreamEvent::Error(err) = ev {
            e.borrow_mut().push(Error::from(err.clone()));
        }
    });
    let mut got = Vec::new();
    while got.len() < 2 {
        let m = within_future(5_000, StreamExt::next(&mut es))
            .await
            .expect("next in time")
            .expect("open stream");
        got.push(m.data);
    }
    assert_eq!(got, nums(1..=2));
    assert_eq!(*calls.borrow(), 2);
    let errors = errors.borrow();
    assert_eq!(errors.len(), 1, "{errors:?}");
    match &errors[0] {
        e @ Error::EventStream {
            kind: ErrorKind::Headers,
            status: None,
            message,
        } => {
            assert!(message.contains("no token yet"), "{message}");
            assert_eq!(e.name(), "EventStreamError");
        }
        other => panic!("{other:?}"),
    }
    es.close();
}
