//! Typed payloads (cargo feature `serde`, on by default): [`Socket::emit`],
//! [`Socket::publish`], [`Channel::publish`], [`Channel::messages`], [`Socket::on_invoke`] for
//! server-invoked procedures and [`MessageEvent::json`](crate::MessageEvent::json) for Server-Sent Events.
//!
//! A value crosses as a JS value: serde-wasm-bindgen turns it into one (JSON-compatible: maps
//! become objects, `None` and `()` become `null`) and the host's `JSON` writes and reads the
//! text, so the wasm carries no JSON library. The JSON-text methods (`emit_text`, …) stay for
//! apps that bring their own codec. The npm build leaves this module out.

use std::future::Future;
use std::rc::Rc;

use futures::{Stream, StreamExt};
use js_sys::JSON;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::{Channel, HandlerId, Socket, SocketEvent};
use crate::error::Error;
use crate::proto::CallOptions;

/// Messages a typed [`Channel::messages`] Stream buffers before it drops new ones.
pub const MESSAGES_BUFFER: usize = 1024;

/// A value → the JSON text sent (`None` for a value serde turns into `undefined`).
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, Error> {
    let invalid = |message: String| Error::InvalidArguments { message };
    let v = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| invalid(e.to_string()))?;
    if v.is_undefined() {
        return Ok(None);
    }
    let text = JSON::stringify(&v).map_err(|e| invalid(js_text(&e)))?;
    Ok(text.as_string())
}

/// JSON text received (or none) → a value.
pub(crate) fn from_json<T: DeserializeOwned>(text: Option<&str>) -> Result<T, Error> {
    let payload = |message: String| Error::Payload { message };
    let v = match text {
        None => JsValue::UNDEFINED,
        Some(t) => JSON::parse(t).map_err(|e| payload(js_text(&e)))?,
    };
    serde_wasm_bindgen::from_value(v).map_err(|e| payload(e.to_string()))
}

fn js_text(e: &JsValue) -> String {
    crate::web::error_text(e).unwrap_or_else(|| "not JSON".into())
}

impl Socket {
    /// Emits `data` as `event` and waits for the answer, read as `Resp`.
    ///
    /// Fails with the server's error ([`Error::Server`]), [`Error::Timeout`] after
    /// `ack_timeout`, [`Error::BadConnection`], [`Error::OutboxFull`], or [`Error::Payload`]
    /// when the answer does not fit `Resp`.
    pub async fn emit<Req, Resp>(&self, event: &str, data: &Req) -> Result<Resp, Error>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        self.emit_with_options(event, data, CallOptions::default())
            .await
    }

    /// [`Self::emit`] with per-call options (`ack_timeout`, retries).
    pub async fn emit_with_options<Req, Resp>(
        &self,
        event: &str,
        data: &Req,
        opts: CallOptions,
    ) -> Result<Resp, Error>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let text = to_json(data)?;
        let answer = self.emit_text(event, text, opts).await?;
        from_json(answer.as_deref())
    }

    /// Sends `data` as `event` without waiting for an answer.
    pub fn transmit_value<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), Error> {
        self.transmit(event, to_json(data)?);
        Ok(())
    }

    /// Publishes `data` to `channel` and waits for the server's acknowledgement.
    pub async fn publish<T: Serialize + ?Sized>(
        &self,
        channel: &str,
        data: &T,
    ) -> Result<(), Error> {
        let text = to_json(data)?;
        self.publish_text(channel, text.as_deref()).await
    }

    /// Answers the server-invoked procedure `event` with `f`: each invoke's data is read as
    /// `Req` and the value `f` resolves with is sent back as the answer (an `Err` is sent as
    /// the server-side error: a [`Error::Server`] keeps its name and fields). Data that does
    /// not fit `Req` is answered with a `PayloadError`. Transmits of `event` (no answer wanted)
    /// run `f` too. Remove it with [`Socket::remove_handler`].
    ///
    /// `f` lives as long as the socket: capture no [`Socket`] in it (that would keep the
    /// socket alive), pass what it needs in by value.
    pub fn on_invoke<Req, Resp, F, Fut>(&self, event: &str, f: F) -> HandlerId
    where
        Req: DeserializeOwned + 'static,
        Resp: Serialize + 'static,
        F: Fn(Req) -> Fut + 'static,
        Fut: Future<Output = Result<Resp, Error>> + 'static,
    {
        let name = event.to_string();
        let f = Rc::new(f);
        self.on_event(move |ev| {
            let SocketEvent::ServerEvent { event, data, reply } = ev else {
                return;
            };
            if *event != name {
                return;
            }
            let req = match from_json::<Req>(data.as_deref()) {
                Ok(req) => req,
                Err(e) => {
                    if let Some(r) = reply {
                        r.respond(Err(e));
                    }
                    return;
                }
            };
            let fut = f(req);
            let reply = reply.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = fut.await;
                if let Some(r) = reply {
                    r.respond(result.and_then(|v| to_json(&v)));
                }
            });
        })
    }
}

impl Channel {
    /// Publishes `data` to this channel and waits for the acknowledgement.
    pub async fn publish<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), Error> {
        let text = to_json(data)?;
        self.publish_text(text.as_deref()).await
    }

    /// This channel's messages read as `T`, as a Stream (across reconnects and
    /// re-subscriptions, in order). A message that does not fit `T` is an
    /// `Err(`[`Error::Payload`]`)` item and the Stream goes on. At most [`MESSAGES_BUFFER`]
    /// unread messages are kept; newer ones are dropped while it is full. The Stream ends at
    /// once when the socket is gone; its listener is removed when it is dropped.
    pub fn messages<T: DeserializeOwned>(&self) -> impl Stream<Item = Result<T, Error>> {
        self.messages_with_capacity(MESSAGES_BUFFER)
    }

    /// [`Self::messages`] with a buffer of `capacity` messages.
    pub fn messages_with_capacity<T: DeserializeOwned>(
        &self,
        capacity: usize,
    ) -> impl Stream<Item = Result<T, Error>> {
        match self.messages_text(capacity) {
            Some(s) => futures::future::Either::Left(s.map(|t| from_json::<T>(t.as_deref()))),
            None => futures::future::Either::Right(futures::stream::empty()),
        }
    }
}

#[cfg(feature = "sse")]
impl crate::stream::MessageEvent {
    /// The event's data (JSON text) read as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        from_json(Some(&self.data))
    }
}
