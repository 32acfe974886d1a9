//! `RefCell` for the wasm code (engines, drivers, faces): `std`'s, with borrow conflicts that
//! trap instead of panicking with a formatted message. A conflict is a bug either way (the
//! crate never holds a borrow across a call into JS); `std`'s message alone links
//! `core::fmt::Formatter::pad` and char counting into the module.

use core::cell::{Ref, RefMut};

/// [`core::cell::RefCell`] with `borrow`/`borrow_mut` that trap on a conflict.
pub struct RefCell<T>(core::cell::RefCell<T>);

impl<T> RefCell<T> {
    /// A new cell holding `value`.
    pub const fn new(value: T) -> Self {
        RefCell(core::cell::RefCell::new(value))
    }

    /// Shared borrow; a conflict traps.
    #[inline]
    pub fn borrow(&self) -> Ref<'_, T> {
        match self.0.try_borrow() {
            Ok(r) => r,
            Err(_) => conflict(),
        }
    }

    /// Exclusive borrow; a conflict traps.
    #[inline]
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        match self.0.try_borrow_mut() {
            Ok(r) => r,
            Err(_) => conflict(),
        }
    }

    /// The value, through a unique reference (no borrow to check).
    #[cfg(feature = "rust")]
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }

    /// Shared borrow, or `Err` while mutably borrowed.
    #[cfg_attr(not(feature = "sse"), allow(dead_code))] // (the SSE engine's)
    #[inline]
    pub fn try_borrow(&self) -> Result<Ref<'_, T>, core::cell::BorrowError> {
        self.0.try_borrow()
    }

    /// Exclusive borrow, or `Err` while borrowed.
    #[cfg_attr(not(feature = "sse"), allow(dead_code))] // (the SSE engine's)
    #[inline]
    pub fn try_borrow_mut(&self) -> Result<RefMut<'_, T>, core::cell::BorrowMutError> {
        self.0.try_borrow_mut()
    }
}

#[cold]
#[inline(never)]
fn conflict() -> ! {
    core::arch::wasm32::unreachable()
}

/// `static` storage for the wasm's one thread (a plain `static` when the module is built
/// without threads, `thread_local!` when it is): `NAME.with(|v| ..)` either way.
/// `thread_local!` alone would add an access check with a panic message per use.
macro_rules! global {
    ($(#[$m:meta])* static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(target_feature = "atomics"))]
        $(#[$m])*
        static $name: $crate::cell::Global<$t> = $crate::cell::Global($init);
        #[cfg(target_feature = "atomics")]
        thread_local! {
            $(#[$m])*
            static $name: $t = const { $init };
        }
    };
}
pub(crate) use global;

/// What [`global!`] stores its value in when the module has one thread.
pub struct Global<T>(pub T);

// SAFETY: only built without the `atomics` target feature, where a wasm module runs on one
// thread: nothing else can reach the value.
#[cfg(not(target_feature = "atomics"))]
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    /// Runs `f` on the value (the same call as `LocalKey::with`).
    #[inline]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0)
    }
}
