//! The `fetch` driver of `EventStream` (`transport: 'fetch'`): one `GET` with the given headers,
//! reporting the response head and then the body's byte chunks to a handler. It owns the
//! request's `AbortController`: dropping the driver aborts the request and ends the read loop
//! (RAII). It does not parse (see [`crate::sse::parser`]) or decide anything about statuses.

use std::rc::Rc;

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
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
        let r = Rc::new(Reader { signal, handler });
        super::on_settled(&promise, Box::new(move |res| head(r, res)));
        Ok(FetchConn { controller })
    }
}

impl Drop for FetchConn {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

/// The request's signal and handler, shared by the steps of the read (each runs when the
/// Promise it waits for settles).
struct Reader {
    signal: AbortSignal,
    handler: Rc<dyn Fn(FetchInput) -> bool>,
}

impl Reader {
    fn report(&self, input: FetchInput) -> bool {
        !self.signal.aborted() && (self.handler)(input)
    }
}

/// The `fetch` Promise settled: reports the head, then reads the body.
fn head(r: Rc<Reader>, res: Result<JsValue, JsValue>) {
    let resp: Response = match res.and_then(|v| v.dyn_into()) {
        Ok(resp) => resp,
        Err(e) => {
            r.report(FetchInput::Failed(describe(&e)));
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
    if !r.report(head) {
        // The handler may have dropped the driver: the abort has cancelled the body, and a
        // `cancel()` now would reject with the AbortError, unhandled (a page error per 503).
        if !r.signal.aborted() {
            if let Some(body) = body {
                let _ = body.cancel();
            }
        }
        return;
    }
    let Some(body) = body else {
        r.report(FetchInput::End);
        return;
    };
    match body.get_reader().dyn_into::<ReadableStreamDefaultReader>() {
        Ok(reader) => read(r, reader),
        Err(_) => {
            r.report(FetchInput::Failed(
                "the response body cannot be read".into(),
            ));
        }
    }
}

/// Reads the next chunk of the body, reports it, and goes on until the end, a failure, or the
/// handler says stop.
fn read(r: Rc<Reader>, reader: ReadableStreamDefaultReader) {
    let step = reader.read();
    super::on_settled(
        &step,
        Box::new(move |step| {
            let step = match step {
                Ok(step) => step,
                Err(e) => {
                    r.report(FetchInput::Failed(describe(&e)));
                    return;
                }
            };
            let done = Reflect::get(&step, &"done".into())
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            if done {
                r.report(FetchInput::End);
                return;
            }
            let value = Reflect::get(&step, &"value".into()).unwrap_or(JsValue::UNDEFINED);
            let bytes = match value.dyn_into::<Uint8Array>() {
                Ok(a) => crate::web::bytes_of(&a),
                Err(_) => Vec::new(),
            };
            if !r.report(FetchInput::Chunk(bytes)) {
                if !r.signal.aborted() {
                    let _ = reader.cancel(); // as above
                }
                return;
            }
            read(r, reader);
        }),
    );
}

fn describe(e: &JsValue) -> String {
    super::error_text(e).unwrap_or_else(|| "the request failed".into())
}
