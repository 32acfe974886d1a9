//! The listener registry shared by the JS classes (`Socket`, `Channel`, `EventStream`), and the
//! bounded async-iterator queue behind `for await`. Both live in `support.js`.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// A JS listener registry: `on(name, fn) -> remover`, `once(name, timeoutMs?) -> Promise`,
    /// `off(name, fn?)`, `emit(name, a, b)`.
    #[derive(Clone, Debug)]
    pub type Emitter;

    #[wasm_bindgen(constructor)]
    pub fn new() -> Emitter;

    /// Adds a listener; throws `InvalidArgumentsError` when `listener` is not a function.
    #[wasm_bindgen(method, catch)]
    pub fn on(this: &Emitter, name: &JsValue, listener: &JsValue) -> Result<Function, JsValue>;

    #[wasm_bindgen(method)]
    pub fn off(this: &Emitter, name: &JsValue, listener: &JsValue);

    #[wasm_bindgen(method)]
    pub fn once(this: &Emitter, name: &str, timeout_ms: &JsValue) -> Promise;

    #[wasm_bindgen(method)]
    pub fn has(this: &Emitter, name: &str) -> bool;

    /// Calls every listener of `name` with `(a, b)`; a throwing listener is reported, not
    /// propagated. Returns whether any listener ran.
    #[wasm_bindgen(method)]
    pub fn emit(this: &Emitter, name: &str, a: &JsValue, b: &JsValue) -> bool;

    /// Parses `json`, a JSON array, sets the elements at `undefined_at` to `undefined`, and
    /// calls every listener of `name` with each element in order; returns the array.
    #[wasm_bindgen(method, js_name = emitJsonArray)]
    pub fn emit_json_array(
        this: &Emitter,
        name: &str,
        json: &str,
        undefined_at: Vec<u32>,
    ) -> js_sys::Array;

    /// A server event: listeners get `(data, res)`; `res` (when `rid` is defined) calls
    /// `respond(gen, rid, isError, jsonText)` once.
    #[wasm_bindgen(method, js_name = serverEvent)]
    pub fn server_event(
        this: &Emitter,
        name: &str,
        data: &JsValue,
        gen: f64,
        rid: &JsValue,
        respond: &Function,
    ) -> bool;

    /// A bounded queue that is an async iterator; the oldest items are dropped past `limit`.
    #[derive(Clone, Debug)]
    pub type AsyncQueue;

    #[wasm_bindgen(constructor)]
    pub fn new(limit: u32, on_return: &JsValue) -> AsyncQueue;

    #[wasm_bindgen(method)]
    pub fn push(this: &AsyncQueue, value: &JsValue);

    #[wasm_bindgen(method)]
    pub fn end(this: &AsyncQueue);

    /// Defines `[Symbol.asyncIterator]` on the prototype of `instance` as `this.__iterator()`,
    /// and makes its `free()` call `this.__close()` first (the `Channel` class).
    #[wasm_bindgen(js_name = installAsyncIterator)]
    pub fn install_async_iterator(instance: &JsValue);

    #[wasm_bindgen(js_name = isFunction)]
    pub fn is_function(v: &JsValue) -> bool;
}
