//! A live ticker page in Rust on sockline's Rust API: a `Channel` consumed as a typed
//! `futures::Stream`, typed `publish`, the state futures, and an `EventStream` of numbers.
//!
//! Page query: `?base=8100` (the fixtures' base port; SocketCluster on base + 1, SSE on base + 6).

use std::cell::Cell;
use std::rc::Rc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sockline::{
    Error, EventStream, EventStreamOptions, Socket, SocketOptions, SubscribeOptions, Transport,
};
use wasm_bindgen::prelude::*;

/// One tick on the `rust-ticker` channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tick {
    n: u32,
    from: String,
    note: Option<String>,
}

fn el(id: &str) -> web_sys::Element {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .expect("page element")
}

fn set_text(id: &str, text: &str) {
    el(id).set_text_content(Some(text));
}

fn add_item(list: &str, text: &str) {
    let doc = web_sys::window().and_then(|w| w.document()).unwrap();
    if let Ok(li) = doc.create_element("li") {
        li.set_text_content(Some(text));
        let list = el(list);
        let _ = list.prepend_with_node_1(&li);
        // keep the list short
        while list.child_element_count() > 20 {
            if let Some(last) = list.last_element_child() {
                last.remove();
            }
        }
    }
}

fn base_port() -> u16 {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|p| p.get("base"))
        .and_then(|b| b.parse().ok())
        .unwrap_or(8100)
}

/// Entry point, run when the module loads.
#[wasm_bindgen(start)]
pub fn start() {
    let base = base_port();
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = ticker(base).await {
            set_text("state", &format!("{}: {e}", e.name()));
        }
    });
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = counter(base).await {
            set_text("sse-state", &format!("{}: {e}", e.name()));
        }
    });
}

async fn ticker(base: u16) -> Result<(), Error> {
    let url = format!("ws://127.0.0.1:{}/socketcluster/", base + 1);
    let socket = Socket::new(&url, SocketOptions::default())?;
    set_text("state", "connecting");
    socket.connected().await?;
    set_text("state", "open");
    set_text("socket-id", &socket.id().unwrap_or_default());

    let channel = socket.subscribe("rust-ticker", SubscribeOptions::default());
    let mut ticks = channel.messages::<Tick>();
    channel.subscribed().await?;
    set_text("channel-state", "subscribed");

    // Publish one tick a second, and one per click of the button.
    let count = Rc::new(Cell::new(0u32));
    let publisher = channel.clone();
    let c = count.clone();
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            c.set(c.get() + 1);
            let tick = Tick {
                n: c.get(),
                from: "rust page".into(),
                note: None,
            };
            if publisher.publish(&tick).await.is_err() {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(1_000).await;
        }
    });
    let clicker = channel.clone();
    let c = count.clone();
    let on_click = Closure::<dyn Fn()>::new(move || {
        let clicker = clicker.clone();
        c.set(c.get() + 1);
        let tick = Tick {
            n: c.get(),
            from: "button".into(),
            note: Some("clicked ✓".into()),
        };
        wasm_bindgen_futures::spawn_local(async move {
            let r = clicker.publish(&tick).await;
            set_text(
                "publish-result",
                &match r {
                    Ok(()) => "published".to_string(),
                    Err(e) => format!("{}: {e}", e.name()),
                },
            );
        });
    });
    let button = el("publish");
    let _ = button.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());

    // The channel as a Stream of typed messages, across reconnects.
    while let Some(tick) = ticks.next().await {
        match tick {
            Ok(t) => {
                let note = t.note.map(|n| format!(" ({n})")).unwrap_or_default();
                add_item("ticks", &format!("tick {} from {}{note}", t.n, t.from));
                set_text("tick-count", &t.n.to_string());
            }
            Err(e) => add_item("ticks", &format!("{}: {e}", e.name())),
        }
    }
    drop(on_click); // the button stops publishing once the Stream ends
    Ok(())
}

async fn counter(base: u16) -> Result<(), Error> {
    let url = format!("http://127.0.0.1:{}/counter?n=1000000&delay=1000", base + 6);
    let stream = EventStream::new(
        &url,
        EventStreamOptions {
            transport: Transport::Fetch,
            ..EventStreamOptions::default()
        },
    )?;
    set_text("sse-state", "open");
    while let Some(event) = stream.next().await {
        let n: u64 = event.json()?;
        set_text("sse-count", &n.to_string());
    }
    set_text("sse-state", "closed");
    Ok(())
}
