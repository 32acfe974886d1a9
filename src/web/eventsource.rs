//! The `EventSource` driver of `EventStream` (`transport: 'eventsource'`): opens one browser
//! `EventSource`, forwards open/message/named events/error to a handler, and on drop closes it
//! and removes every listener it added (RAII, no `Closure::forget`).
//!
//! It owns no policy: it does not reconnect (the caller closes it on the first error and opens a
//! new one after its own backoff) and does not de-duplicate.

use std::collections::HashSet;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, EventSourceInit, MessageEvent};

/// What the `EventSource` reports.
#[derive(Debug)]
pub enum EsInput {
    Open,
    /// A `message` or named event, as the browser parsed it.
    Message {
        event_type: String,
        data: String,
        last_event_id: String,
    },
    /// The connection failed or dropped (the status is not visible to scripts).
    Error,
}

/// One browser `EventSource` and its listeners.
pub struct EventSourceConn {
    es: EventSource,
    on_open: Closure<dyn FnMut(Event)>,
    on_error: Closure<dyn FnMut(Event)>,
    on_message: Closure<dyn FnMut(MessageEvent)>,
    /// Event types with a native listener (always includes `message`).
    names: HashSet<String>,
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
        let h = handler.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_e: Event| h(EsInput::Open));
        let h = handler.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_e: Event| h(EsInput::Error));
        let h = handler;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data().as_string().unwrap_or_default();
            h(EsInput::Message {
                event_type: e.type_(),
                data,
                last_event_id: e.last_event_id(),
            })
        });
        let _ = es.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        let _ = es.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        let mut conn = EventSourceConn {
            es,
            on_open,
            on_error,
            on_message,
            names: HashSet::new(),
        };
        conn.listen("message");
        for name in names {
            conn.listen(name);
        }
        Ok(conn)
    }

    /// Adds a native listener for the event type `name` (once per name).
    pub fn listen(&mut self, name: &str) {
        if matches!(name, "open" | "error") || self.names.contains(name) {
            return;
        }
        let f: &js_sys::Function = self.on_message.as_ref().unchecked_ref();
        if self.es.add_event_listener_with_callback(name, f).is_ok() {
            self.names.insert(name.to_string());
        }
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
        for name in &self.names {
            let _ = self.es.remove_event_listener_with_callback(name, f);
        }
    }
}
