//! Auth token helpers: reading a JWT's payload (base64url, UTF-8, JSON object).
//!
//! Owns only decoding; storing tokens is the driver's job and the auth state lives in the
//! session. The signature is never checked here (the server does that).

#[allow(unused_imports)]
use crate::prelude::*;

/// Largest signed token accepted for decoding (bytes).
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Why a token's payload could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than [`MAX_TOKEN_LEN`].
    TooLong,
    /// The token does not have three `.`-separated segments.
    Segments,
    /// The payload segment is not base64url.
    Base64,
    /// The payload is not UTF-8.
    Utf8,
    /// The payload is not a JSON object.
    NotJsonObject,
}

impl JwtError {
    /// What is wrong, in words (never the token).
    pub fn as_str(&self) -> &'static str {
        match self {
            JwtError::TooLong => "the auth token is too long",
            JwtError::Segments => "the auth token does not have three segments",
            JwtError::Base64 => "the auth token payload is not base64url",
            JwtError::Utf8 => "the auth token payload is not UTF-8",
            JwtError::NotJsonObject => "the auth token payload is not a JSON object",
        }
    }
}

impl core::fmt::Display for JwtError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returns the JSON text of a JWT's payload (the middle segment).
pub fn decode_payload(token: &str) -> Result<String, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLong);
    }
    // exactly three segments
    let (_, Some(rest)) = super::codec::cut(token, b'.') else {
        return Err(JwtError::Segments);
    };
    let (payload, Some(signature)) = super::codec::cut(rest, b'.') else {
        return Err(JwtError::Segments);
    };
    if super::codec::cut(signature, b'.').1.is_some() {
        return Err(JwtError::Segments);
    }
    let bytes = base64url_decode(payload).ok_or(JwtError::Base64)?;
    let text = String::from_utf8(bytes).map_err(|_| JwtError::Utf8)?;
    // (`is_object` skips the leading JSON whitespace and wants a `{` there)
    if super::codec::is_object(&text) {
        Ok(text)
    } else {
        Err(JwtError::NotJsonObject)
    }
}

/// Decodes base64url (also accepts the standard alphabet), with or without `=` padding.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut n = s.len();
    while n > 0 && s.as_bytes().get(n - 1) == Some(&b'=') {
        n -= 1;
    }
    let s = s.get(..n).unwrap_or("");
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsaWNlIiwiaWF0IjoxNzk1MzA0MzgyLCJleHAiOjE3OTUzOTA3ODJ9.ZNY4przcy4TW3J-Kh1VglLIFDz3PQo93YbjnRbFd09I";

    fn enc(payload: &str, pad: bool) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = payload.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |a, (i, &x)| a | (x as u32) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
            if pad {
                for _ in chunk.len()..3 {
                    out.push('=');
                }
            }
        }
        format!("eyJhbGciOiJIUzI1NiJ9.{out}.sig")
    }

    #[test]
    fn captured_token() {
        assert_eq!(
            decode_payload(ALICE).unwrap(),
            r##"{"username":"alice","iat":1795304382,"exp":1795390782}"##
        );
    }

    #[test]
    fn padded_unpadded_and_non_ascii() {
        for p in [
            r##"{"a":1}"##,
            r##"{"ab":12}"##,
            r##"{"abc":123}"##,
            r##"{"name":"Zoë 😀 名前"}"##,
        ] {
            assert_eq!(decode_payload(&enc(p, false)).unwrap(), p);
            assert_eq!(decode_payload(&enc(p, true)).unwrap(), p);
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(decode_payload("garbage"), Err(JwtError::Segments));
        assert_eq!(decode_payload("a.b"), Err(JwtError::Segments));
        assert_eq!(decode_payload("a.b.c.d"), Err(JwtError::Segments));
        assert_eq!(decode_payload("a.!!!.c"), Err(JwtError::Base64));
        assert_eq!(decode_payload("a.A.c"), Err(JwtError::Base64));
        assert_eq!(
            decode_payload(&format!("a.{}.c", "_w")),
            Err(JwtError::Utf8)
        );
        assert_eq!(
            decode_payload(&enc("[1,2]", false)),
            Err(JwtError::NotJsonObject)
        );
        assert_eq!(
            decode_payload(&enc("{\"a\":", false)),
            Err(JwtError::NotJsonObject)
        );
        assert_eq!(
            decode_payload(&"x".repeat(MAX_TOKEN_LEN + 1)),
            Err(JwtError::TooLong)
        );
        assert_eq!(decode_payload(""), Err(JwtError::Segments));
    }
}
