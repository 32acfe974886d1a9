//! Auth token storage (`authStorage`): `localStorage`, `sessionStorage`, memory, or a user object
//! `{loadToken(name), saveToken(name, token), removeToken(name)}` whose methods may return
//! Promises. When web storage throws (private mode, blocked storage) the token is kept in memory
//! and the failure is reported once. A save refused for the quota (a huge token) fails only that
//! save: it is reported as a quota error, the token is kept in memory (and the stale stored token
//! removed), and the next save tries storage again.
//!
//! The browser calls are `webStore` and `callStore` in `src/js/support.js` (one import each,
//! exceptions caught there); the fallback, the notices and the memory copy stay here.

use std::cell::{Cell, RefCell};

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::auth_storage::AuthStorage;
#[cfg(feature = "token-storage")]
use crate::auth_storage::{TokenLoad, TokenStorage};

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// `webStore` in support.js: one read, write or removal in `localStorage` (or
    /// `sessionStorage`), its failures caught there (see the meaning of what it returns there).
    #[wasm_bindgen(js_name = webStore)]
    fn web_store(session: bool, op: u32, name: &str, token: &str) -> JsValue;
    /// `callStore` in support.js: `store[method](name[, token])`, caught; a string, a Promise
    /// (with no-op handlers attached) or `undefined`.
    #[wasm_bindgen(js_name = callStore)]
    fn call_store(store: &JsValue, method: &str, name: &str, token: Option<&str>) -> JsValue;
}

/// `web_store`'s operations.
const GET: u32 = 0;
const SET: u32 = 1;
const REMOVE: u32 = 2;

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

    /// Whether web storage is still in use (not fallen back to memory, not a custom store).
    fn web(&self) -> Option<bool> {
        match self.kind {
            _ if self.fell_back.get() => None,
            StoreKind::Local => Some(false),
            StoreKind::Session => Some(true),
            _ => None,
        }
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
            let v = call_store(obj, "loadToken", &self.name, None);
            return match v.as_string() {
                Some(t) => Loaded::Ready(Some(t)),
                None if v.is_object() => Loaded::Later(v.unchecked_into()),
                None => Loaded::Ready(None),
            };
        }
        if let Some(session) = self.web().filter(|_| !self.unsaved.get()) {
            let v = web_store(session, GET, &self.name, "");
            if let Some(t) = v.as_string() {
                return Loaded::Ready(Some(t));
            }
            match v.as_bool() {
                Some(true) => return Loaded::Ready(None),
                Some(false) => self.fall_back(self.kind_name()),
                None => {}
            }
        }
        Loaded::Ready(self.memory.borrow().clone())
    }

    pub fn save(&self, token: &str) {
        #[cfg(feature = "token-storage")]
        if let StoreKind::Rust(store) = &self.kind {
            store.save_token(&self.name, token);
            return;
        }
        if let StoreKind::Custom(obj) = &self.kind {
            call_store(obj, "saveToken", &self.name, Some(token));
            return;
        }
        *self.memory.borrow_mut() = Some(token.to_string());
        self.unsaved.set(false);
        let Some(session) = self.web() else { return };
        let v = web_store(session, SET, &self.name, token);
        if v.is_string() {
            // The stored token is stale now (the helper removed it): neither a reconnect nor
            // another tab may use it.
            self.unsaved.set(true);
            let mut m = String::from("The auth token (");
            crate::proto::codec::push_u64(&mut m, token.len() as u64);
            m.push_str(" bytes) exceeds the ");
            m.push_str(self.kind_name());
            m.push_str(" quota and was not saved; it is kept in memory for this page");
            *self.notice.borrow_mut() = Some(m);
        } else if v.as_bool() == Some(false) {
            self.fall_back(self.kind_name());
        }
    }

    pub fn remove(&self) {
        #[cfg(feature = "token-storage")]
        if let StoreKind::Rust(store) = &self.kind {
            store.remove_token(&self.name);
            return;
        }
        if let StoreKind::Custom(obj) = &self.kind {
            call_store(obj, "removeToken", &self.name, None);
            return;
        }
        *self.memory.borrow_mut() = None;
        self.unsaved.set(false);
        if let Some(session) = self.web() {
            if web_store(session, REMOVE, &self.name, "").as_bool() == Some(false) {
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
