//! The `fetch` driver of `EventStream` (`transport: 'fetch'`): one `GET` with the given headers,
//! reporting the response head and then the body's byte chunks to a handler. It owns the
//! request's `AbortController`: dropping the driver aborts the request and ends the read loop
//! (RAII). It does not parse (see [`crate::sse::parser`]) or decide anything about statuses.

use std::rc::Rc;

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, ReadableStreamDefaultReader, RequestCredentials, RequestInit,
    RequestMode, Response,
};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (window or worker).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;
}

/// What the request reports, in order: `Head`, then `Chunk`s, then `End` or `Failed`.
#[derive(Debug)]
pub enum FetchInput {
    /// The response head. The handler returns whether to read the body.
    Head {
        status: u16,
        content_type: Option<String>,
        retry_after: Option<String>,
    },
    /// Body bytes.
    Chunk(Vec<u8>),
    /// The body ended normally.
    End,
    /// The request or the read failed (network error, CORS, abort).
    Failed(String),
}

/// One in-flight `fetch`. Dropping it aborts the request.
pub struct FetchConn {
    controller: AbortController,
}

impl FetchConn {
    /// Starts `GET url` with `headers`. `handler` gets every input until the driver is dropped;
    /// it returns `false` to stop reading.
    pub fn start(
        url: &str,
        headers: &[(String, String)],
        with_credentials: bool,
        handler: Rc<dyn Fn(FetchInput) -> bool>,
    ) -> Result<FetchConn, JsValue> {
        let controller = AbortController::new()?;
        let signal = controller.signal();
        let hdrs = Object::new();
        Reflect::set(&hdrs, &"Accept".into(), &"text/event-stream".into())?;
        for (k, v) in headers {
            Reflect::set(&hdrs, &JsValue::from_str(k), &JsValue::from_str(v))?;
        }
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_headers(&hdrs);
        init.set_mode(RequestMode::Cors);
        init.set_credentials(if with_credentials {
            RequestCredentials::Include
        } else {
            RequestCredentials::SameOrigin
        });
        init.set_signal(Some(&signal));
        let promise = global_fetch(url, &init)?;
        wasm_bindgen_futures::spawn_local(run(promise, signal, handler));
        Ok(FetchConn { controller })
    }
}

impl Drop for FetchConn {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

async fn run(promise: Promise, signal: AbortSignal, handler: Rc<dyn Fn(FetchInput) -> bool>) {
    let report = |input: FetchInput| !signal.aborted() && handler(input);
    let resp: Response = match JsFuture::from(promise).await.and_then(|v| v.dyn_into()) {
        Ok(r) => r,
        Err(e) => {
            report(FetchInput::Failed(describe(&e)));
            return;
        }
    };
    let headers = resp.headers();
    let head = FetchInput::Head {
        status: resp.status(),
        content_type: headers.get("content-type").ok().flatten(),
        retry_after: headers.get("retry-after").ok().flatten(),
    };
    let body = resp.body();
    if !report(head) {
        // The handler may have dropped the driver: the abort has cancelled the body, and a
        // `cancel()` now would reject with the AbortError, unhandled (a page error per 503).
        if !signal.aborted() {
            if let Some(body) = body {
                let _ = body.cancel();
            }
        }
        return;
    }
    let Some(body) = body else {
        report(FetchInput::End);
        return;
    };
    let reader: ReadableStreamDefaultReader = match body.get_reader().dyn_into() {
        Ok(r) => r,
        Err(_) => {
            report(FetchInput::Failed(
                "the response body cannot be read".into(),
            ));
            return;
        }
    };
    loop {
        let step = match JsFuture::from(reader.read()).await {
            Ok(step) => step,
            Err(e) => {
                report(FetchInput::Failed(describe(&e)));
                return;
            }
        };
        let done = Reflect::get(&step, &"done".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            report(FetchInput::End);
            return;
        }
        let value = Reflect::get(&step, &"value".into()).unwrap_or(JsValue::UNDEFINED);
        let bytes = match value.dyn_into::<Uint8Array>() {
            Ok(a) => a.to_vec(),
            Err(_) => Vec::new(),
        };
        if !report(FetchInput::Chunk(bytes)) {
            if !signal.aborted() {
                let _ = reader.cancel(); // as above
            }
            return;
        }
    }
}

fn describe(e: &JsValue) -> String {
    super::error_text(e).unwrap_or_else(|| "the request failed".into())
}
