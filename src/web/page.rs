//! Page lifecycle events that matter to liveness: `online`, `offline`, `visibilitychange` and
//! `pageshow`. Listeners are added on creation and removed on drop, by `watchPage` and
//! `unwatchPage` in `src/js/support.js` (one import each; the listeners call one closure).

use alloc::rc::Rc;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// Adds the page listeners: they call `f(0)` (online), `f(1)` (offline) or `f(2)` (wake);
    /// returns what `unwatch_page` takes. (`f` has the WebSocket driver's closure type: one
    /// invoke shim for both.)
    #[wasm_bindgen(js_name = watchPage)]
    fn watch_page(f: &Closure<dyn FnMut(u32, JsValue)>) -> JsValue;
    #[wasm_bindgen(js_name = unwatchPage)]
    fn unwatch_page(listeners: &JsValue);
}

/// What happened to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEvent {
    Online,
    Offline,
    /// Visible again, or restored from the back/forward cache.
    Wake,
}

/// The page listeners of one socket.
pub struct PageWatch {
    listeners: JsValue,
    _closure: Closure<dyn FnMut(u32, JsValue)>,
}

impl PageWatch {
    pub fn new(handler: Rc<dyn Fn(PageEvent)>) -> PageWatch {
        let closure = Closure::<dyn FnMut(u32, JsValue)>::new(move |kind: u32, _: JsValue| {
            handler(match kind {
                0 => PageEvent::Online,
                1 => PageEvent::Offline,
                _ => PageEvent::Wake,
            })
        });
        PageWatch {
            listeners: watch_page(&closure),
            _closure: closure,
        }
    }
}

impl Drop for PageWatch {
    fn drop(&mut self) {
        unwatch_page(&self.listeners);
    }
}
