//! Request bodies whose Content-Length counted characters instead of bytes.
//!
//! Some CPE firmware computes Content-Length as the number of characters of the envelope, so a
//! body holding non-ASCII text (an SSID such as `Graça`) is announced a few bytes short. Read by
//! the header, the body lacks its last bytes (the envelope does not close) and those bytes stay
//! on the connection, where they would be read as the start of the next request. GenieACS accepts
//! such a body; so does Fibreplane, without loosening its HTTP parser: this layer sits between
//! the socket (after TLS) and hyper, and when a body is short in exactly that way it rewrites the
//! request's Content-Length to the byte length of that many characters, so hyper frames the
//! request as the CPE meant it and the next request starts where it should.
//!
//! A body is reframed only when all of these hold: the header names one Content-Length and no
//! Transfer-Encoding or `Expect: 100-continue`; the announced bytes do not end with a closing
//! envelope tag and hold non-ASCII text; and the same number of UTF-8 *characters* ends exactly
//! with a closing `Envelope` tag (trailing whitespace aside). Anything else passes through
//! unchanged, and hyper and the SOAP parser judge it as before. The decision logic ([`Reframer`])
//! does no IO; [`Reframed`] drives it over a stream.

use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest request head looked at; a longer one passes through for hyper to refuse.
const MAX_HEAD: usize = 16 * 1024;
/// The most headers a head may have to be looked at.
const MAX_HEADERS: usize = 64;

/// Where the reframer stands in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Gathering a request head (and, for a body with a Content-Length, the body).
    Head,
    /// Passing `n` more body bytes through unchanged.
    Forward(usize),
    /// Passing everything through for the rest of the connection (chunked bodies, heads it
    /// cannot read: hyper decides).
    Through,
}

/// The sans-IO half: bytes from the peer go in with [`Reframer::push`], bytes for hyper come
/// out of [`Reframer::ready`].
#[derive(Debug)]
pub(crate) struct Reframer {
    /// Received bytes not yet released.
    held: BytesMut,
    /// Bytes released, not yet read by hyper.
    ready: BytesMut,
    state: State,
    /// Bodies larger than this pass through (the server refuses them with 413).
    body_limit: usize,
    /// Bodies reframed so far.
    reframed: u64,
    /// When the announced body is here but counting its characters asks for bytes that have
    /// not arrived: how many held bytes go as they are if no more come ([`Reframer::unstall`]).
    stalled: Option<usize>,
}

impl Reframer {
    /// A reframer for bodies of at most `body_limit` bytes.
    pub(crate) fn new(body_limit: usize) -> Self {
        Self {
            held: BytesMut::new(),
            ready: BytesMut::new(),
            state: State::Head,
            body_limit,
            reframed: 0,
            stalled: None,
        }
    }

    /// How many bodies were reframed so far.
    pub(crate) fn reframed(&self) -> u64 {
        self.reframed
    }

    /// Takes bytes from the peer.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.held.extend_from_slice(data);
        self.advance(false);
    }

    /// The peer closed its side: whatever is held goes to hyper as it is.
    pub(crate) fn finish(&mut self) {
        self.advance(true);
        let rest = self.held.split();
        self.ready.extend_from_slice(&rest);
    }

    /// The bytes ready for hyper.
    pub(crate) fn ready(&mut self) -> &mut BytesMut {
        &mut self.ready
    }

    /// Whether a complete announced request is held only in case more of its characters come.
    /// A peer that sent an honest, broken body is waiting for an answer: the driver gives the
    /// rest a moment, then calls [`Reframer::unstall`].
    pub(crate) fn stalled(&self) -> bool {
        self.stalled.is_some()
    }

    /// No more bytes came: the held request goes as it was announced.
    pub(crate) fn unstall(&mut self) {
        if let Some(n) = self.stalled.take() {
            self.release(n);
            self.advance(false);
        }
    }

    /// Whether everything from now on passes through untouched.
    pub(crate) fn is_through(&self) -> bool {
        self.state == State::Through && self.held.is_empty()
    }

    /// Releases what can be released; `eof` says no more bytes will come.
    fn advance(&mut self, eof: bool) {
        loop {
            match self.state {
                State::Through => {
                    let all = self.held.len();
                    self.release(all);
                    return;
                }
                State::Forward(n) => {
                    let take = n.min(self.held.len());
                    self.release(take);
                    self.state = if take == n {
                        State::Head
                    } else {
                        State::Forward(n - take)
                    };
                    if take < n {
                        return;
                    }
                }
                State::Head => {
                    if self.held.is_empty() || !self.step_head(eof) {
                        return;
                    }
                }
            }
        }
    }

    /// Looks at the held request; `true` when it released something and can go on.
    fn step_head(&mut self, eof: bool) -> bool {
        self.stalled = None;
        let Some(head_len) = find(&self.held, b"\r\n\r\n").map(|i| i + 4) else {
            if self.held.len() > MAX_HEAD {
                self.state = State::Through;
                return true;
            }
            return false;
        };
        let Some(framing) = framing(&self.held[..head_len]) else {
            self.state = State::Through;
            return true;
        };
        let declared = match framing {
            Framing::Through => {
                self.state = State::Through;
                return true;
            }
            Framing::Forward(n) => {
                self.release(head_len);
                self.state = State::Forward(n);
                return true;
            }
            Framing::Body(n) if n > self.body_limit => {
                self.release(head_len);
                self.state = State::Forward(n);
                return true;
            }
            Framing::Body(n) => n,
        };
        let have = self.held.len() - head_len;
        if have < declared {
            if eof {
                self.state = State::Through;
                return true;
            }
            // Room for the rest of the announced body at once (a registration's answer is
            // ~1 MB, and growing the buffer by doubling copied it over and over), once the
            // peer has sent a quarter of it: an announced length alone reserves nothing.
            let rest = declared - have;
            if rest <= 3 * have.max(64 * 1024) {
                self.held.reserve(rest);
            }
            return false;
        }
        let body = &self.held[head_len..head_len + declared];
        // The usual case, decided without reading the body: it closes the envelope as announced
        // and nothing follows it that a character count could take (whatever the body holds,
        // the answer below would be to release it as it is).
        if have == declared && closes_envelope(body) {
            self.release(head_len + declared);
            return true;
        }
        if body.is_ascii() {
            self.release(head_len + declared);
            return true;
        }
        if closes_envelope(body) {
            // Complete as announced; but when characters were counted, the whitespace after the
            // closing tag is on the wire too, and is taken with the body when it is there.
            match char_span(&self.held[head_len..], declared) {
                Span::Within(len)
                    if len > declared
                        && self.held[head_len + declared..head_len + len]
                            .iter()
                            .all(u8::is_ascii_whitespace) =>
                {
                    self.rewrite(head_len, len);
                }
                _ => self.release(head_len + declared),
            }
            return true;
        }
        // Short by the width of its non-ASCII characters? Count `declared` characters.
        match char_span(&self.held[head_len..], declared) {
            Span::Within(len) if len <= self.body_limit => {
                if closes_envelope(&self.held[head_len..head_len + len]) {
                    self.rewrite(head_len, len);
                } else {
                    self.release(head_len + declared);
                }
                true
            }
            Span::Within(_) | Span::Invalid => {
                self.release(head_len + declared);
                true
            }
            Span::Beyond(len) if len > self.body_limit || eof => {
                self.release(head_len + declared);
                true
            }
            // The rest of the characters have not arrived yet.
            Span::Beyond(_) => {
                self.stalled = Some(head_len + declared);
                false
            }
        }
    }

    /// Releases the first `n` held bytes unchanged (without a copy when nothing else waits).
    fn release(&mut self, n: usize) {
        let part = self.held.split_to(n);
        if self.ready.is_empty() {
            self.ready = part;
        } else {
            self.ready.extend_from_slice(&part);
        }
    }

    /// Releases the held request with its Content-Length set to `body_len`.
    fn rewrite(&mut self, head_len: usize, body_len: usize) {
        let head = self.held.split_to(head_len);
        let body = self.held.split_to(body_len);
        // The request line and each header line with its line end; then the empty line.
        let (lines, end) = head.split_at(head_len - 2);
        for (i, line) in lines.split_inclusive(|&b| b == b'\n').enumerate() {
            if i > 0 && is_content_length(line) {
                self.ready
                    .extend_from_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
            } else {
                self.ready.extend_from_slice(line);
            }
        }
        self.ready.extend_from_slice(end);
        self.ready.extend_from_slice(&body);
        self.reframed += 1;
    }
}

/// How a request head frames its body, as far as this layer cares.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    /// A body of this many bytes, to be looked at.
    Body(usize),
    /// A body of this many bytes, passed through unlooked-at (`Expect: 100-continue`: the
    /// peer waits for the server before sending it).
    Forward(usize),
    /// Chunked or otherwise unusual: leave the connection to hyper.
    Through,
}

/// Reads the framing headers of a complete head; `None` when it is not a request head.
fn framing(head: &[u8]) -> Option<Framing> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    let mut length = None;
    let mut expect = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Some(Framing::Through);
        }
        if h.name.eq_ignore_ascii_case("expect") {
            expect = true;
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value).ok()?.trim().parse().ok();
            if length.is_some() || n.is_none() {
                return Some(Framing::Through);
            }
            length = n;
        }
    }
    Some(match (length, expect) {
        (None, _) => Framing::Forward(0),
        (Some(n), true) => Framing::Forward(n),
        (Some(n), false) => Framing::Body(n),
    })
}

/// Whether a header line (with or without its CR) is the Content-Length header.
fn is_content_length(line: &[u8]) -> bool {
    line.iter().position(|&b| b == b':').is_some_and(|i| {
        line[..i]
            .trim_ascii()
            .eq_ignore_ascii_case(b"content-length")
    })
}

/// How many bytes `count` UTF-8 characters take at the start of `data`.
#[derive(Debug, PartialEq, Eq)]
enum Span {
    /// They are all in `data`, in this many bytes.
    Within(usize),
    /// They need at least this many bytes, more than `data` has.
    Beyond(usize),
    /// `data` is not UTF-8 there: no character count to trust.
    Invalid,
}

fn char_span(data: &[u8], count: usize) -> Span {
    let mut at = 0;
    for _ in 0..count {
        let Some(&lead) = data.get(at) else {
            // Every further character takes at least one byte.
            return Span::Beyond(data.len() + 1);
        };
        let width = match lead {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return Span::Invalid,
        };
        if at + width > data.len() {
            return Span::Beyond(at + width);
        }
        if data[at + 1..at + width].iter().any(|&b| b & 0xc0 != 0x80) {
            return Span::Invalid;
        }
        at += width;
    }
    Span::Within(at)
}

/// Whether a body ends (whitespace aside) with a closing `Envelope` tag, prefixed or not.
fn closes_envelope(body: &[u8]) -> bool {
    let body = body.trim_ascii_end();
    let Some(rest) = body.strip_suffix(b"Envelope>") else {
        return false;
    };
    let Some(open) = rest.iter().rposition(|&b| b == b'<') else {
        return false;
    };
    let name = &rest[open + 1..];
    let Some(prefix) = name.strip_prefix(b"/") else {
        return false;
    };
    prefix.is_empty()
        || prefix.strip_suffix(b":").is_some_and(|p| {
            !p.is_empty()
                && p.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A stream whose requests hyper reads through a [`Reframer`]; writes go straight through.
pub(crate) struct Reframed<S> {
    inner: S,
    frames: Reframer,
    eof: bool,
    /// Runs while a complete announced request is held for characters that may follow.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whose metrics count the bodies reframed.
    acs: std::sync::Arc<crate::Acs>,
}

/// How long a complete announced request is held for more of its characters: a firmware that
/// counted characters sends the rest with it, so it comes within a round trip.
const STALL: std::time::Duration = std::time::Duration::from_millis(250);

impl<S> Reframed<S> {
    /// Wraps a connection of `acs`, counting reframed bodies in its metrics.
    pub(crate) fn new(inner: S, acs: std::sync::Arc<crate::Acs>) -> Self {
        let limit = acs.config.limits.max_body_bytes;
        Self {
            inner,
            frames: Reframer::new(limit),
            eof: false,
            stall: None,
            acs,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Reframed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let ready = this.frames.ready();
            if !ready.is_empty() {
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            if this.frames.is_through() {
                // The common path after a chunked body: no copy.
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            // Large enough that a registration's ~1 MB answer takes few reads.
            let mut chunk = [0u8; 64 * 1024];
            let mut rb = ReadBuf::new(&mut chunk);
            if Pin::new(&mut this.inner)
                .poll_read(cx, &mut rb)?
                .is_pending()
            {
                if !this.frames.stalled() {
                    this.stall = None;
                    return Poll::Pending;
                }
                let timer = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(STALL)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.stall = None;
                this.frames.unstall();
                continue;
            }
            let before = this.frames.reframed();
            if rb.filled().is_empty() {
                this.eof = true;
                this.frames.finish();
            } else {
                this.frames.push(rb.filled());
            }
            for _ in before..this.frames.reframed() {
                this.acs.metrics.bodies_reframed.inc();
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Reframed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests;
