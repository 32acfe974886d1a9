//! Browser tests of the Rust API (`sockline::Socket`, `Channel`, futures and Streams), the way a
//! Leptos/Yew/Dioxus app would use it, against socketcluster-server 20.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::StreamExt;
use sockline::{CallOptions, Error, Socket, SocketEvent, SocketOptions, State, SubscribeOptions};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn connected() -> Socket {
    let s = Socket::new(&main_url(), SocketOptions::default()).expect("socket");
    let mut events = s.events(64);
    let ok = futures::future::select(
        Box::pin(async {
            while let Some(e) = events.next().await {
                if matches!(e, SocketEvent::Connect { .. }) {
                    return true;
                }
            }
            false
        }),
        Box::pin(sleep(5_000)),
    )
    .await;
    assert!(
        matches!(ok, futures::future::Either::Left((true, _))),
        "connected"
    );
    assert_eq!(s.state(), State::Open);
    s
}

#[wasm_bindgen_test]
async fn emit_future_resolves_with_json_text() {
    let s = connected().await;
    let r = s
        .emit_text(
            "echo",
            Some(r#"{"hello":"world"}"#.into()),
            CallOptions::default(),
        )
        .await;
    assert_eq!(r, Ok(Some(r#"{"hello":"world"}"#.to_string())));
    let r = s.emit_text("fail", None, CallOptions::default()).await;
    match r {
        Err(e @ Error::Server { .. }) => assert_eq!(e.name(), "MyCustomError", "{e:?}"),
        other => panic!("{other:?}"),
    }
    let r = s
        .emit_text(
            "noReply",
            None,
            CallOptions {
                ack_timeout: Some(200.0),
                retries: 0,
            },
        )
        .await;
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    s.disconnect(1000, "");
}

#[wasm_bindgen_test]
async fn channel_messages_stream() {
    let s = connected().await;
    let ch = s.subscribe("rust-api", SubscribeOptions::default());
    let mut msgs = ch.messages_text(16).expect("stream");
    assert!(until(5_000, || ch.state() == sockline::ChannelState::Subscribed).await);
    s.publish_text("rust-api", Some("1"))
        .await
        .expect("published");
    ch.publish_text(Some(r#""two""#)).await.expect("published");
    let first = msgs.next().await;
    let second = msgs.next().await;
    assert_eq!(first, Some(Some("1".to_string())));
    assert_eq!(second, Some(Some("\"two\"".to_string())));
    s.disconnect(1000, "");
}

#[wasm_bindgen_test]
async fn server_invoke_answered_through_responder() {
    let s = connected().await;
    s.on_event(|e| {
        if let SocketEvent::ServerEvent {
            event,
            data,
            reply: Some(r),
        } = e
        {
            if event == "rustProc" {
                r.respond(Ok(Some(format!(
                    "{{\"echo\":{}}}",
                    data.clone().unwrap_or("null".into())
                ))));
            }
        }
    });
    let id = s.id().unwrap();
    let r = control(
        "/invoke",
        Some(&format!(
            r#"{{"socketId":"{id}","event":"rustProc","data":[1,2]}}"#
        )),
    )
    .await;
    assert_eq!(json(&r), r#"{"ok":true,"data":{"echo":[1,2]}}"#);
    s.disconnect(1000, "");
}
