//! Auth token storage (`authStorage`): `localStorage`, `sessionStorage`, memory, or a user object
//! `{loadToken(name), saveToken(name, token), removeToken(name)}` whose methods may return
//! Promises. When web storage throws (private mode, blocked storage) the token is kept in memory
//! and the failure is reported once. A save refused for the quota (a huge token) fails only that
//! save: it is reported as a quota error, the token is kept in memory (and the stale stored token
//! removed), and the next save tries storage again.

use std::cell::{Cell, RefCell};

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::auth_storage::AuthStorage;
#[cfg(feature = "token-storage")]
use crate::auth_storage::{TokenLoad, TokenStorage};

/// Which store.
#[derive(Clone)]
pub enum StoreKind {
    Local,
    Session,
    Memory,
    /// The JS option's object.
    Custom(JsValue),
    /// A Rust `TokenStorage`.
    #[cfg(feature = "token-storage")]
    Rust(std::rc::Rc<dyn TokenStorage>),
}

impl From<AuthStorage> for StoreKind {
    fn from(a: AuthStorage) -> StoreKind {
        match a {
            AuthStorage::Local => StoreKind::Local,
            AuthStorage::Session => StoreKind::Session,
            AuthStorage::Memory => StoreKind::Memory,
            #[cfg(feature = "token-storage")]
            AuthStorage::Custom(s) => StoreKind::Rust(s),
        }
    }
}

/// A loaded token: at once, after the user's Promise settles, or after a Rust store's future.
pub enum Loaded {
    Ready(Option<String>),
    Later(Promise),
    #[cfg(feature = "token-storage")]
    Pending(futures::future::LocalBoxFuture<'static, Option<String>>),
}

pub struct TokenStore {
    kind: StoreKind,
    name: String,
    memory: RefCell<Option<String>>,
    fell_back: Cell<bool>,
    /// The last save was refused for the quota: the token lives in memory only until the next
    /// save or remove.
    unsaved: Cell<bool>,
    notice: RefCell<Option<String>>,
}

impl TokenStore {
    pub fn new(kind: StoreKind, name: String) -> TokenStore {
        TokenStore {
            kind,
            name,
            memory: RefCell::new(None),
            fell_back: Cell::new(false),
            unsaved: Cell::new(false),
            notice: RefCell::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A message when web storage failed and memory took over (once), or refused a save.
    pub fn take_notice(&self) -> Option<String> {
        self.notice.borrow_mut().take()
    }

    fn web(&self) -> Option<Result<web_sys::Storage, ()>> {
        if self.fell_back.get() {
            return None;
        }
        let window = super::window()?;
        let s = match self.kind {
            StoreKind::Local => window.local_storage(),
            StoreKind::Session => window.session_storage(),
            _ => return None,
        };
        Some(match s {
            Ok(Some(s)) => Ok(s),
            _ => Err(()),
        })
    }

    fn fall_back(&self, what: &str) {
        if !self.fell_back.replace(true) {
            let mut m = what.to_string();
            m.push_str(" is not available; the auth token is kept in memory for this page");
            *self.notice.borrow_mut() = Some(m);
        }
    }

    pub fn load(&self) -> Loaded {
        #[cfg(feature = "token-storage")]
        if let StoreKind::Rust(store) = &self.kind {
            return match store.load_token(&self.name) {
                TokenLoad::Ready(t) => Loaded::Ready(t),
                TokenLoad::Later(f) => Loaded::Pending(f),
            };
        }
        if let StoreKind::Custom(obj) = &self.kind {
            return match call(obj, "loadToken", &[JsValue::from_str(&self.name)]) {
                Some(v) if v.is_instance_of::<Promise>() => Loaded::Later(v.unchecked_into()),
                Some(v) => Loaded::Ready(v.as_string()),
                None => Loaded::Ready(None),
            };
        }
        if self.unsaved.get() {
            return Loaded::Ready(self.memory.borrow().clone());
        }
        match self.web() {
            Some(Ok(s)) => match s.get_item(&self.name) {
                Ok(v) => Loaded::Ready(v),
                Err(_) => {
                    self.fall_back(self.kind_name());
                    Loaded::Ready(self.memory.borrow().clone())
                }
            },
            Some(Err(())) => {
                self.fall_back(self.kind_name());
                Loaded::Ready(self.memory.borrow().clone())
            }
            None => Loaded::Ready(self.memory.borrow().clone()),
        }
    }

    pub fn save(&self, token: &str) {
        #[cfg(feature = "token-storage")]
        if let StoreKind::Rust(store) = &self.kind {
            store.save_token(&self.name, token);
            return;
        }
        if let StoreKind::Custom(obj) = &self.kind {
            let _ = call(
                obj,
                "saveToken",
                &[JsValue::from_str(&self.name), JsValue::from_str(token)],
            );
            return;
        }
        *self.memory.borrow_mut() = Some(token.to_string());
        self.unsaved.set(false);
        match self.web() {
            None => {}
            Some(Err(())) => self.fall_back(self.kind_name()),
            Some(Ok(s)) => match s.set_item(&self.name, token) {
                Ok(()) => {}
                Err(e) if is_quota_error(&e) => {
                    // The stored token is stale now: neither a reconnect nor another tab may use it.
                    let _ = s.remove_item(&self.name);
                    self.unsaved.set(true);
                    let mut m = String::from("The auth token (");
                    crate::proto::codec::push_u64(&mut m, token.len() as u64);
                    m.push_str(" bytes) exceeds the ");
                    m.push_str(self.kind_name());
                    m.push_str(" quota and was not saved; it is kept in memory for this page");
                    *self.notice.borrow_mut() = Some(m);
                }
                Err(_) => self.fall_back(self.kind_name()),
            },
        }
    }

    pub fn remove(&self) {
        #[cfg(feature = "token-storage")]
        if let StoreKind::Rust(store) = &self.kind {
            store.remove_token(&self.name);
            return;
        }
        if let StoreKind::Custom(obj) = &self.kind {
            let _ = call(obj, "removeToken", &[JsValue::from_str(&self.name)]);
            return;
        }
        *self.memory.borrow_mut() = None;
        self.unsaved.set(false);
        if let Some(r) = self.web() {
            if r.and_then(|s| s.remove_item(&self.name).map_err(|_| ()))
                .is_err()
            {
                self.fall_back(self.kind_name());
            }
        }
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            StoreKind::Local => "localStorage",
            StoreKind::Session => "sessionStorage",
            _ => "memory",
        }
    }
}

/// Whether a `setItem` failure is the storage quota (`QuotaExceededError`; Firefox once named it
/// `NS_ERROR_DOM_QUOTA_REACHED`) rather than storage being unavailable.
fn is_quota_error(e: &JsValue) -> bool {
    let name = Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string());
    matches!(
        name.as_deref(),
        Some("QuotaExceededError" | "NS_ERROR_DOM_QUOTA_REACHED")
    )
}

/// Calls `obj[method](...args)`; `None` when it is missing or throws. A returned Promise gets a
/// no-op rejection handler, so a failing `saveToken`/`removeToken` (whose Promise nobody awaits)
/// is never an unhandled rejection; `loadToken`'s Promise is still awaited as it is.
fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
    let f = Reflect::get(obj, &JsValue::from_str(method)).ok()?;
    let f: Function = f.dyn_into().ok()?;
    let r = match args.len() {
        1 => f.call1(obj, &args[0]),
        _ => f.call2(obj, &args[0], &args[1]),
    };
    let v = r.ok()?;
    if let Some(p) = v.dyn_ref::<Promise>() {
        super::on_settled(p, Box::new(|_| {}));
    }
    Some(v)
}
