//! Turning a stream of token bytes into text pieces: whole UTF-8 characters only, and stop
//! sequences cut out before they reach the caller.
//!
//! Both parts are pure so that they are tested without a model.

/// Assembles token bytes into UTF-8 text.
///
/// A token may end in the middle of a multi-byte character (byte-level BPE splits emoji and
/// CJK characters across tokens); those bytes wait for the next token. Bytes that can never
/// form a character become U+FFFD, as a lossy conversion would make them.
#[derive(Debug, Default)]
pub(crate) struct Utf8Assembler {
    pending: Vec<u8>,
}

impl Utf8Assembler {
    /// Adds `bytes` and returns the text that is now complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(err) => {
                    let valid = err.valid_up_to();
                    // The prefix up to `valid` is UTF-8 by the contract of `valid_up_to`.
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match err.error_len() {
                        // An incomplete character at the end: keep it for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Ends the stream: an incomplete character left over becomes U+FFFD.
    pub(crate) fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

/// Holds back text that could be the start of a stop sequence and finds where a stop sequence
/// begins.
#[derive(Debug)]
pub(crate) struct StopScanner {
    stops: Vec<String>,
    longest: usize,
    text: String,
    emitted: usize,
}

/// What [`StopScanner::push`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan<'a> {
    /// Text that is safe to hand to the caller now (possibly empty).
    Emit(&'a str),
    /// A stop sequence was found: the last text to hand over, before the stop sequence.
    Stopped(&'a str),
}

impl StopScanner {
    /// A scanner for `stops`; empty strings are ignored.
    pub(crate) fn new(stops: &[String]) -> StopScanner {
        let stops: Vec<String> = stops.iter().filter(|s| !s.is_empty()).cloned().collect();
        let longest = stops.iter().map(String::len).max().unwrap_or(0);
        StopScanner {
            stops,
            longest,
            text: String::new(),
            emitted: 0,
        }
    }

    /// Adds `piece` and says what may be handed to the caller.
    pub(crate) fn push(&mut self, piece: &str) -> Scan<'_> {
        let before = self.text.len();
        self.text.push_str(piece);
        if self.stops.is_empty() {
            self.emitted = self.text.len();
            return Scan::Emit(&self.text[before..]);
        }
        // A stop sequence that ends in the new piece starts at most `longest` bytes before it.
        let mut from = before.saturating_sub(self.longest);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        let found = self
            .stops
            .iter()
            .filter_map(|stop| self.text[from..].find(stop.as_str()).map(|at| from + at))
            .min();
        if let Some(at) = found {
            // Text before `emitted` never contained a stop sequence start that could complete,
            // so `at >= emitted`.
            let start = self.emitted.min(at);
            self.text.truncate(at);
            self.emitted = at;
            return Scan::Stopped(&self.text[start..]);
        }
        let hold = self.held_back();
        let safe = self.text.len() - hold;
        let start = self.emitted.min(safe);
        self.emitted = safe.max(self.emitted);
        Scan::Emit(&self.text[start..safe.max(start)])
    }

    /// The length of the longest suffix of the text that is a proper prefix of a stop
    /// sequence.
    fn held_back(&self) -> usize {
        let tail_len = self.text.len().min(self.longest.saturating_sub(1));
        let mut best = 0;
        for stop in &self.stops {
            for len in (best + 1..=tail_len.min(stop.len() - 1)).rev() {
                let start = self.text.len() - len;
                if self.text.is_char_boundary(start)
                    && stop.is_char_boundary(len)
                    && self.text[start..] == stop[..len]
                {
                    best = len;
                    break;
                }
            }
        }
        best
    }

    /// Ends the stream: returns the held-back text that never became a stop sequence.
    pub(crate) fn finish(&mut self) -> &str {
        let start = self.emitted;
        self.emitted = self.text.len();
        &self.text[start..]
    }

    /// Takes the text out of the scanner.
    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, Vec<String>, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut scanner = StopScanner::new(&stops);
        let mut streamed = Vec::new();
        let mut stopped = false;
        for piece in pieces {
            match scanner.push(piece) {
                Scan::Emit(text) => streamed.push(text.to_string()),
                Scan::Stopped(text) => {
                    streamed.push(text.to_string());
                    stopped = true;
                    break;
                }
            }
        }
        if !stopped {
            streamed.push(scanner.finish().to_string());
        }
        (scanner.into_text(), streamed, stopped)
    }

    #[test]
    fn no_stops_passes_everything_through() {
        let (text, streamed, stopped) = run(&[], &["a", "bc", ""]);
        assert_eq!(text, "abc");
        assert_eq!(streamed.concat(), "abc");
        assert!(!stopped);
    }

    #[test]
    fn stop_inside_one_piece_is_cut() {
        let (text, streamed, stopped) = run(&["\n\n"], &["Hello", " world\n\nmore"]);
        assert_eq!(text, "Hello world");
        assert_eq!(streamed.concat(), "Hello world");
        assert!(stopped);
    }

    #[test]
    fn stop_split_across_pieces_is_never_streamed() {
        let (text, streamed, stopped) = run(&["END"], &["abc E", "N", "D tail"]);
        assert_eq!(text, "abc ");
        assert_eq!(streamed.concat(), "abc ");
        assert!(streamed.iter().all(|s| !s.contains('E')));
        assert!(stopped);
    }

    #[test]
    fn a_false_start_is_released() {
        let (text, streamed, stopped) = run(&["END"], &["abc E", "N", "x"]);
        assert_eq!(text, "abc ENx");
        assert_eq!(streamed.concat(), "abc ENx");
        assert!(!stopped);
    }

    #[test]
    fn held_back_text_is_flushed_at_the_end() {
        let (text, streamed, stopped) = run(&["END"], &["abc", " EN"]);
        assert_eq!(text, "abc EN");
        assert_eq!(streamed.concat(), "abc EN");
        assert!(!stopped);
    }

    #[test]
    fn earliest_of_several_stops_wins() {
        let (text, _, stopped) = run(&["world", "o w"], &["hello world"]);
        assert_eq!(text, "hell");
        assert!(stopped);
    }

    #[test]
    fn multibyte_stops_and_text() {
        let (text, streamed, stopped) = run(&["ção"], &["informa", "çã", "o fim"]);
        assert_eq!(text, "informa");
        assert_eq!(streamed.concat(), "informa");
        assert!(stopped);
    }

    #[test]
    fn utf8_split_across_tokens_waits() {
        let mut asm = Utf8Assembler::default();
        let bytes = "é🙂".as_bytes();
        assert_eq!(asm.push(&bytes[..1]), "");
        assert_eq!(asm.push(&bytes[1..3]), "é");
        assert_eq!(asm.push(&bytes[3..]), "🙂");
        assert_eq!(asm.finish(), "");
    }

    #[test]
    fn invalid_utf8_becomes_replacement() {
        let mut asm = Utf8Assembler::default();
        assert_eq!(asm.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(asm.push(b"\xe2\x82"), "");
        assert_eq!(asm.finish(), "\u{fffd}");
    }
}
