//! Auth token storage (`authStorage`): `localStorage`, `sessionStorage`, memory, or a user object
//! `{loadToken(name), saveToken(name, token), removeToken(name)}` whose methods may return
//! Promises. When web storage throws (private mode, blocked storage) the token is kept in memory
//! and the failure is reported once. A save refused for the quota (a huge token) fails only that
//! save: it is reported as a quota error, the token is kept in memory (and the stale stored token
//! removed), and the next save tries storage again.
//!
//! All of that is `tokenStore`/`storeOp` in `src/js/support.js` (the store's state is a JS
//! object, every browser call and exception stays there): this side is the engine's interface
//! to it, and runs a Rust `TokenStorage`.

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::prelude::*;

#[cfg(feature = "rust")]
use crate::auth_storage::AuthStorage;
#[cfg(feature = "token-storage")]
use crate::auth_storage::{TokenLoad, TokenStorage};

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// A store's state: `kind` 0 `localStorage`, 1 `sessionStorage`, 2 memory, 3 the object
    /// `custom`.
    #[wasm_bindgen(js_name = tokenStore)]
    fn token_store(kind: u32, name: &str, custom: &JsValue) -> JsValue;
    /// One operation (`LOAD`, `SAVE` with the token and its length in bytes, `REMOVE`,
    /// `NOTICE`): a load's string, Promise or `undefined`; the notice's string or `undefined`.
    #[wasm_bindgen(js_name = storeOp)]
    fn store_op(store: &JsValue, op: u32, token: Option<&str>, len: usize) -> JsValue;
}

const LOAD: u32 = 0;
const SAVE: u32 = 1;
const REMOVE: u32 = 2;
const NOTICE: u32 = 3;

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
    Rust(alloc::rc::Rc<dyn TokenStorage>),
}

#[cfg(feature = "rust")]
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
    /// A Promise.
    Later(JsValue),
    #[cfg(feature = "token-storage")]
    Pending(futures::future::LocalBoxFuture<'static, Option<String>>),
}

pub struct TokenStore {
    name: String,
    /// The state in support.js (`undefined` for a Rust store).
    js: JsValue,
    #[cfg(feature = "token-storage")]
    rust: Option<alloc::rc::Rc<dyn TokenStorage>>,
}

impl TokenStore {
    pub fn new(kind: StoreKind, name: String) -> TokenStore {
        let (code, custom) = match kind {
            StoreKind::Local => (0, JsValue::UNDEFINED),
            StoreKind::Session => (1, JsValue::UNDEFINED),
            StoreKind::Memory => (2, JsValue::UNDEFINED),
            StoreKind::Custom(obj) => (3, obj),
            #[cfg(feature = "token-storage")]
            StoreKind::Rust(store) => {
                return TokenStore {
                    name,
                    js: JsValue::UNDEFINED,
                    rust: Some(store),
                }
            }
        };
        TokenStore {
            js: token_store(code, &name, &custom),
            name,
            #[cfg(feature = "token-storage")]
            rust: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A message when web storage failed and memory took over (once), or refused a save.
    pub fn take_notice(&self) -> Option<String> {
        #[cfg(feature = "token-storage")]
        if self.rust.is_some() {
            return None;
        }
        store_op(&self.js, NOTICE, None, 0).as_string()
    }

    pub fn load(&self) -> Loaded {
        #[cfg(feature = "token-storage")]
        if let Some(store) = &self.rust {
            return match store.load_token(&self.name) {
                TokenLoad::Ready(t) => Loaded::Ready(t),
                TokenLoad::Later(f) => Loaded::Pending(f),
            };
        }
        let v = store_op(&self.js, LOAD, None, 0);
        match v.as_string() {
            Some(t) => Loaded::Ready(Some(t)),
            None if v.is_object() => Loaded::Later(v),
            None => Loaded::Ready(None),
        }
    }

    pub fn save(&self, token: &str) {
        #[cfg(feature = "token-storage")]
        if let Some(store) = &self.rust {
            store.save_token(&self.name, token);
            return;
        }
        store_op(&self.js, SAVE, Some(token), token.len());
    }

    pub fn remove(&self) {
        #[cfg(feature = "token-storage")]
        if let Some(store) = &self.rust {
            store.remove_token(&self.name);
            return;
        }
        store_op(&self.js, REMOVE, None, 0);
    }
}
