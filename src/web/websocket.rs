//! The WebSocket driver: opens a browser `WebSocket`, forwards open/text/close to a handler,
//! and removes its handlers (and closes the socket) when dropped.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug)]
pub enum WsEvent {
    Open,
    Text(String),
    Close { code: u16, reason: String },
}

/// One browser WebSocket and its handlers.
pub struct WsConn {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl WsConn {
    /// Opens `url`. The handler is called for every event until the connection is dropped.
    pub fn open(url: &str, handler: Rc<dyn Fn(WsEvent)>) -> Result<WsConn, JsValue> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let h = handler.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || h(WsEvent::Open));
        let h = handler.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            if let Some(text) = data.as_string() {
                h(WsEvent::Text(text));
            } else if let Some(buf) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                // The server decodes binary frames as UTF-8 JSON; accept the same inbound.
                let bytes = js_sys::Uint8Array::new(buf).to_vec();
                h(WsEvent::Text(String::from_utf8_lossy(&bytes).into_owned()));
            }
        });
        let h = handler;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            h(WsEvent::Close {
                code: e.code(),
                reason: e.reason(),
            })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(WsConn {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends a text frame; `false` when the socket is not open or the send failed.
    pub fn send(&self, text: &str) -> bool {
        self.ws.ready_state() == WebSocket::OPEN && self.ws.send_with_str(text).is_ok()
    }

    /// Closes with `code` (only 1000 and 3000–4999 can be sent by a browser; others become 1000)
    /// and a reason cut to 123 bytes.
    pub fn close(&self, code: u16, reason: &str) {
        let code = if code == 1000 || (3000..=4999).contains(&code) {
            code
        } else {
            1000
        };
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let _ = self.ws.close_with_code_and_reason(code, &reason[..end]);
    }

    pub fn buffered_amount(&self) -> u32 {
        self.ws.buffered_amount()
    }
}

impl Drop for WsConn {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let state = self.ws.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = self.ws.close();
        }
    }
}
