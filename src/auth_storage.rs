//! Where a [`Socket`](crate::Socket) keeps its auth token: [`AuthStorage`] (the JS option
//! `authStorage`), and (cargo feature `token-storage`, on by default) the `TokenStorage` trait
//! for a store of your own (IndexedDB, a cookie, an app's state). The npm build leaves the
//! feature out: JS passes its storage object through the adapter instead.

#[cfg(feature = "token-storage")]
use std::rc::Rc;

#[cfg(feature = "token-storage")]
use futures::future::LocalBoxFuture;

/// Which store keeps the signed auth token between page loads (default: `localStorage`).
///
/// When web storage throws (private mode, blocked storage) the token is kept in memory and the
/// socket reports it once as an `error` event; a save refused for the quota fails that save only.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AuthStorage {
    /// `window.localStorage` (shared by the tabs of an origin, kept across restarts).
    #[default]
    Local,
    /// `window.sessionStorage` (this tab only).
    Session,
    /// Memory only: the token is gone when the page is.
    Memory,
    /// Your own store.
    #[cfg(feature = "token-storage")]
    Custom(Rc<dyn TokenStorage>),
}

impl std::fmt::Debug for AuthStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthStorage::Local => "Local",
            AuthStorage::Session => "Session",
            AuthStorage::Memory => "Memory",
            #[cfg(feature = "token-storage")]
            AuthStorage::Custom(_) => "Custom(..)",
        })
    }
}

#[cfg(feature = "token-storage")]
impl AuthStorage {
    /// A custom store.
    pub fn custom(store: impl TokenStorage + 'static) -> AuthStorage {
        AuthStorage::Custom(Rc::new(store))
    }
}

#[cfg(feature = "token-storage")]
/// A token loaded by [`TokenStorage::load_token`]: at once, or later.
pub enum TokenLoad {
    /// The token (or `None`) now.
    Ready(Option<String>),
    /// The token once this future settles; the handshake waits for it.
    Later(LocalBoxFuture<'static, Option<String>>),
}

#[cfg(feature = "token-storage")]
/// A store for the auth token. `name` is the socket's `auth_token_name`. The methods are called
/// with no borrow of the socket held, so they may call back into it.
pub trait TokenStorage {
    /// The stored token, before every handshake.
    fn load_token(&self, name: &str) -> TokenLoad;
    /// Stores a token the server issued or accepted.
    fn save_token(&self, name: &str, token: &str);
    /// Forgets the token (deauthentication, or a token the server rejected).
    fn remove_token(&self, name: &str);
}
