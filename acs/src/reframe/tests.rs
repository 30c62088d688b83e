use super::*;
use proptest::prelude::*;

/// A CWMP-looking envelope whose SSID is `ssid`.
fn envelope(ssid: &str) -> String {
    format!(
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
         <SSID>{ssid}</SSID></soap:Body></soap:Envelope>\n"
    )
}

fn request(body: &str, content_length: usize) -> Vec<u8> {
    let mut r = format!(
        "POST /acs HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\n\
         Content-Length: {content_length}\r\nCookie: s=1\r\n\r\n"
    )
    .into_bytes();
    r.extend_from_slice(body.as_bytes());
    r
}

/// Feeds `input` in pieces of `piece` bytes and returns what hyper would read.
fn run(input: &[u8], piece: usize, eof: bool) -> (Vec<u8>, u64) {
    let mut f = Reframer::new(1 << 20);
    for part in input.chunks(piece.max(1)) {
        f.push(part);
    }
    if eof {
        f.finish();
    }
    (f.ready().to_vec(), f.reframed())
}

#[test]
fn a_byte_counted_body_passes_through_unchanged() {
    let body = envelope("Graça");
    let req = request(&body, body.len());
    assert_eq!(run(&req, 7, false), (req.clone(), 0));
}

#[test]
fn a_character_counted_body_gets_its_byte_length_and_the_next_request_starts_clean() {
    let body = envelope("Graça — café");
    let chars = body.chars().count();
    assert!(chars < body.len());
    let mut wire = request(&body, chars);
    let next = request("", 0);
    wire.extend_from_slice(&next);
    for piece in [1, 3, 64, 4096] {
        let (out, n) = run(&wire, piece, false);
        let mut want = request(&body, body.len());
        want.extend_from_slice(&next);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(n, 1, "piece {piece}");
    }
}

#[test]
fn whitespace_left_over_by_a_character_count_goes_with_the_body() {
    // One two-byte character: announced as is, the body closes but leaves its final newline.
    let body = envelope("Graça");
    let wire = request(&body, body.chars().count());
    assert_eq!(run(&wire, 4096, false), (request(&body, body.len()), 1));
}

#[test]
fn a_body_that_is_short_for_another_reason_is_left_for_the_parser() {
    // Non-ASCII, not closed, and the character count does not close it either.
    let body = envelope("Graça");
    let cut = &body[..body.len() - 20];
    let req = request(cut, cut.len());
    let (out, n) = run(&req, 5, true);
    assert_eq!((out, n), (req, 0));
}

#[test]
fn a_character_counted_body_still_arriving_is_held_then_released_at_eof() {
    let body = envelope("Graça — café");
    let chars = body.chars().count();
    let wire = request(&body, chars);
    // Everything but the last byte: the character count is not complete yet, nothing goes.
    let mut f = Reframer::new(1 << 20);
    f.push(&wire[..wire.len() - 1]);
    assert!(f.ready().is_empty());
    // The peer gives up: hyper sees what came, as it came.
    f.finish();
    assert_eq!(f.ready().to_vec(), wire[..wire.len() - 1].to_vec());
}

#[test]
fn an_honest_broken_body_is_held_only_until_the_driver_gives_up_waiting() {
    // Correctly announced, non-ASCII, not closed: the character count would need bytes that
    // never come, because the peer waits for an answer.
    let body = "<soap:Envelope><soap:Body><SSID>Graça — café</SSID>";
    let wire = request(body, body.len());
    let mut f = Reframer::new(1 << 20);
    f.push(&wire);
    assert!(f.ready().is_empty() && f.stalled());
    f.unstall();
    assert_eq!(f.ready().to_vec(), wire);
    assert!(!f.stalled());
}

#[test]
fn chunked_and_expect_continue_requests_are_not_held() {
    let chunked =
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGra\xc3\xa7\r\n0\r\n\r\n";
    assert_eq!(run(chunked, 4, false), (chunked.to_vec(), 0));
    let expect = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    // The head goes at once: the peer waits for 100 Continue before its body.
    assert_eq!(run(expect, 100, false), (expect.to_vec(), 0));
}

#[test]
fn garbage_and_oversized_heads_pass_through_for_hyper_to_refuse() {
    let garbage = b"\x16\x03\x01 not http\r\n\r\nmore";
    assert_eq!(run(garbage, 3, false).0, garbage.to_vec());
    let long = vec![b'a'; MAX_HEAD + 10];
    assert_eq!(run(&long, 1000, false).0, long);
    let twice = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
    assert_eq!(run(twice, 2, false).0, twice.to_vec());
}

#[test]
fn closing_tags_are_recognised_with_any_prefix() {
    assert!(closes_envelope(b"<a/></soap:Envelope>\r\n"));
    assert!(closes_envelope(b"</SOAP-ENV:Envelope>"));
    assert!(closes_envelope(b"</Envelope>"));
    assert!(!closes_envelope(b"</soap:Envelope"));
    assert!(!closes_envelope(b"<soap:Envelope>"));
    assert!(!closes_envelope(b"</:Envelope>"));
    assert!(!closes_envelope(b"</a b:Envelope>"));
}

#[test]
fn character_spans_follow_utf8_widths() {
    assert_eq!(char_span("aç€😀".as_bytes(), 4), Span::Within(10));
    assert_eq!(char_span("aç".as_bytes(), 3), Span::Beyond(4));
    assert_eq!(char_span(&[b'a', 0xc3], 2), Span::Beyond(3));
    assert_eq!(char_span(&[0xff], 1), Span::Invalid);
    assert_eq!(char_span(&[0xc3, b'a'], 1), Span::Invalid);
}

proptest! {
    /// Whatever arrives, in whatever pieces, every byte comes out once, in order, unless a
    /// body was reframed — and then only its Content-Length line changed.
    #[test]
    fn bytes_are_never_lost_or_invented(
        input in proptest::collection::vec(any::<u8>(), 0..600),
        piece in 1usize..64,
    ) {
        let (out, n) = run(&input, piece, true);
        prop_assert_eq!(n, 0);
        prop_assert_eq!(out, input);
    }

    /// Any text, counted in characters, is read back whole, whatever the pieces: reframed, or
    /// — when the announced bytes already close the envelope and only white space is left,
    /// not here yet — released as announced, the white space then preceding the next request
    /// (which HTTP parsers skip).
    #[test]
    fn any_character_counted_envelope_is_read_whole(
        ssid in "\\PC{0,40}",
        piece in 1usize..200,
    ) {
        let body = envelope(&ssid.replace(['<', '&'], ""));
        let chars = body.chars().count();
        let wire = request(&body, chars);
        let (out, n) = run(&wire, piece, false);
        let announced = &wire[..wire.len() - (body.len() - chars)];
        if out == announced && !body.is_ascii() {
            prop_assert!(closes_envelope(&body.as_bytes()[..chars]));
            prop_assert!(body.as_bytes()[chars..].iter().all(u8::is_ascii_whitespace));
            prop_assert_eq!(n, 0);
        } else {
            prop_assert_eq!(out, request(&body, body.len()));
            prop_assert_eq!(n, u64::from(!body.is_ascii()));
        }
    }
}
