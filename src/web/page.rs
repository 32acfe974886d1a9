//! Page lifecycle events that matter to liveness: `online`, `offline`, `visibilitychange` and
//! `pageshow`. Listeners are added on creation and removed on drop, by `watchPage` and
//! `unwatchPage` in `src/js/support.js` (one import each; the listeners call one closure).

use std::rc::Rc;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// Adds the page listeners: they call `f(true)` (online), `f(false)` (offline) or `f()`
    /// (wake); returns what `unwatch_page` takes.
    #[wasm_bindgen(js_name = watchPage)]
    fn watch_page(f: &Closure<dyn FnMut(JsValue)>) -> JsValue;
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
    _closure: Closure<dyn FnMut(JsValue)>,
}

impl PageWatch {
    pub fn new(handler: Rc<dyn Fn(PageEvent)>) -> PageWatch {
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            handler(match v.as_bool() {
                Some(true) => PageEvent::Online,
                Some(false) => PageEvent::Offline,
                None => PageEvent::Wake,
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
