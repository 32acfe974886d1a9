//! Page lifecycle events that matter to liveness: `online`, `offline`, `visibilitychange` and
//! `pageshow`. Listeners are added on creation and removed on drop.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

/// What happened to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEvent {
    Online,
    Offline,
    /// Visible again, or restored from the back/forward cache.
    Wake,
}

struct Listener {
    target: EventTarget,
    name: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

/// The page listeners of one socket.
pub struct PageWatch {
    listeners: Vec<Listener>,
}

impl PageWatch {
    pub fn new(handler: Rc<dyn Fn(PageEvent)>) -> PageWatch {
        let mut listeners = Vec::new();
        let Some(window) = super::window() else {
            return PageWatch { listeners };
        };
        let document = window.document();
        let mut add =
            |target: EventTarget, name: &'static str, ev: PageEvent, only_visible: bool| {
                let h = handler.clone();
                let doc = document.clone();
                let closure =
                    Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                        if only_visible {
                            if let Some(d) = &doc {
                                if d.hidden() {
                                    return;
                                }
                            }
                        }
                        h(ev)
                    });
                if target
                    .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
                    .is_ok()
                {
                    listeners.push(Listener {
                        target,
                        name,
                        closure,
                    });
                }
            };
        let wt: EventTarget = window.clone().into();
        add(wt.clone(), "online", PageEvent::Online, false);
        add(wt.clone(), "offline", PageEvent::Offline, false);
        add(wt, "pageshow", PageEvent::Wake, false);
        if let Some(d) = &document {
            add(d.clone().into(), "visibilitychange", PageEvent::Wake, true);
        }
        PageWatch { listeners }
    }
}

impl Drop for PageWatch {
    fn drop(&mut self) {
        for l in self.listeners.drain(..) {
            let _ = l
                .target
                .remove_event_listener_with_callback(l.name, l.closure.as_ref().unchecked_ref());
        }
    }
}
