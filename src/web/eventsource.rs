//! The `EventSource` driver of `EventStream` (`transport: 'eventsource'`): opens one browser
//! `EventSource`, forwards open/message/named events/error to a handler, and on drop closes it
//! and removes every listener it added (RAII, no `Closure::forget`).
//!
//! It owns no policy: it does not reconnect (the caller closes it on the first error and opens a
//! new one after its own backoff) and does not de-duplicate. It tells the browser's own `open`
//! and `error` events (plain `Event`s) from server events of those types (`MessageEvent`s), and
//! holds the 1 MiB cap of [`crate::sse::MAX_EVENT_BYTES`] by looking at the length of the JS
//! strings before copying them into wasm memory.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::JsString;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, EventSourceInit, MessageEvent};

use crate::sse::MAX_EVENT_BYTES;

/// What the `EventSource` reports.
#[derive(Debug)]
pub enum EsInput {
    Open,
    /// A `message` or named event, as the browser parsed it.
    Message {
        event_type: String,
        data: String,
        /// `None` when the id is over the cap: it is ignored, as the `fetch` parser ignores an
        /// over-long `id` line.
        last_event_id: Option<String>,
    },
    /// An event whose data reached [`MAX_EVENT_BYTES`] was dropped without being copied.
    Oversized,
    /// The connection failed or dropped (the status is not visible to scripts).
    Error,
}

/// One browser `EventSource` and its listeners.
pub struct EventSourceConn {
    es: EventSource,
    on_open: Closure<dyn FnMut(Event)>,
    on_error: Closure<dyn FnMut(Event)>,
    on_message: Closure<dyn FnMut(MessageEvent)>,
    /// Event types with a native `on_message` listener (always includes `message`). Never
    /// borrowed across a call into JS.
    names: RefCell<Vec<String>>,
}

/// The length of `v` in UTF-16 code units when it is a string.
fn js_len(v: &JsValue) -> usize {
    v.dyn_ref::<JsString>().map_or(0, |s| s.length() as usize)
}

/// A server event → input, copying only what fits the cap (a UTF-16 length at the cap means at
/// least as many UTF-8 bytes). The rule is the parser's: data of `MAX_EVENT_BYTES` bytes or more
/// is dropped.
fn read(e: &MessageEvent) -> EsInput {
    let data = e.data();
    if js_len(&data) >= MAX_EVENT_BYTES {
        return EsInput::Oversized;
    }
    let data = data.as_string().unwrap_or_default();
    if data.len() >= MAX_EVENT_BYTES {
        return EsInput::Oversized;
    }
    let id = js_sys::Reflect::get(e, &JsValue::from_str("lastEventId")).unwrap_or_default();
    let last_event_id = if js_len(&id) > MAX_EVENT_BYTES {
        None
    } else {
        Some(id.as_string().unwrap_or_default())
    };
    EsInput::Message {
        event_type: e.type_(),
        data,
        last_event_id,
    }
}

impl EventSourceConn {
    /// Opens `url`; `handler` gets every input until the connection is dropped. `names` are the
    /// named event types to listen to from the start (more can be added with [`Self::listen`]).
    pub fn open<'a>(
        url: &str,
        with_credentials: bool,
        names: impl IntoIterator<Item = &'a str>,
        handler: Rc<dyn Fn(EsInput)>,
    ) -> Result<EventSourceConn, JsValue> {
        let init = EventSourceInit::new();
        init.set_with_credentials(with_credentials);
        let es = EventSource::new_with_event_source_init_dict(url, &init)?;
        // A server event named `open` or `error` is a `MessageEvent`; the browser's are not.
        let lifecycle = |h: Rc<dyn Fn(EsInput)>, input: fn() -> EsInput| {
            Closure::<dyn FnMut(Event)>::new(move |e: Event| match e.dyn_ref::<MessageEvent>() {
                Some(m) => h(read(m)),
                None => h(input()),
            })
        };
        let on_open = lifecycle(handler.clone(), || EsInput::Open);
        let on_error = lifecycle(handler.clone(), || EsInput::Error);
        let on_message =
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| handler(read(&e)));
        let _ = es.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        let _ = es.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        let conn = EventSourceConn {
            es,
            on_open,
            on_error,
            on_message,
            names: RefCell::new(Vec::new()),
        };
        conn.listen("message");
        for name in names {
            conn.listen(name);
        }
        Ok(conn)
    }

    /// Adds a native listener for the event type `name` (once per name).
    pub fn listen(&self, name: &str) {
        if matches!(name, "open" | "error") {
            return;
        }
        {
            let mut names = self.names.borrow_mut();
            if names.iter().any(|n| n == name) {
                return;
            }
            names.push(name.to_string());
        }
        let f: &js_sys::Function = self.on_message.as_ref().unchecked_ref();
        let _ = self.es.add_event_listener_with_callback(name, f);
    }

    /// The URL the browser resolved.
    pub fn url(&self) -> String {
        self.es.url()
    }
}

impl Drop for EventSourceConn {
    fn drop(&mut self) {
        self.es.close();
        let _ = self
            .es
            .remove_event_listener_with_callback("open", self.on_open.as_ref().unchecked_ref());
        let _ = self
            .es
            .remove_event_listener_with_callback("error", self.on_error.as_ref().unchecked_ref());
        let f: &js_sys::Function = self.on_message.as_ref().unchecked_ref();
        let names = std::mem::take(&mut *self.names.borrow_mut());
        for name in &names {
            let _ = self.es.remove_event_listener_with_callback(name, f);
        }
    }
}
