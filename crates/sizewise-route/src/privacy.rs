//! Fast detection and redaction of personal data and secrets in prompt text.
//!
//! The router calls [`first`] on every request to decide whether the request may
//! leave the premises, and [`redact`] when it must be cleaned instead; [`scan`]
//! lists every finding.
//!
//! How it works: one combined regex, compiled once, finds the leftmost place
//! where any kind *could* start. At that place each kind's own matcher decides
//! whether it really matches and passes validation (check digits, Luhn, issuer
//! prefix, word boundaries, ...). The best candidate there wins; when none
//! survives, the search resumes one character later. Text with no candidate at
//! all is therefore read once, by one lazy DFA.
//!
//! Digit-based kinds (CPF, CNPJ, card, phone) must stand alone: a letter, digit
//! or `_` next to them, or a `.`, `,`, `-` or `/` that continues into another
//! digit, rejects the candidate, so a CPF inside a longer number is not a CPF.

use std::cmp::Reverse;
use std::sync::LazyLock;

use regex::Regex;

/// Kinds of personal data or secrets the detector finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// An e-mail address such as `ana@example.com`.
    Email,
    /// A formatted telephone number (international, Brazilian or North American).
    Phone,
    /// A Brazilian individual taxpayer id whose two check digits are right.
    Cpf,
    /// A Brazilian company id whose two check digits are right.
    Cnpj,
    /// A payment card number that passes the Luhn check.
    Card,
    /// An API key, access token, private key or password assignment.
    Secret,
}

impl PiiKind {
    /// Stable lower-case name: "email", "phone", "cpf", "cnpj", "card", "secret".
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Cpf => "cpf",
            PiiKind::Cnpj => "cnpj",
            PiiKind::Card => "card",
            PiiKind::Secret => "secret",
        }
    }

    /// Placeholder used by redaction: "[EMAIL]", "[PHONE]", "[CPF]", "[CNPJ]", "[CARD]", "[SECRET]".
    #[must_use]
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Cpf => "[CPF]",
            PiiKind::Cnpj => "[CNPJ]",
            PiiKind::Card => "[CARD]",
            PiiKind::Secret => "[SECRET]",
        }
    }

    /// Tie-break between candidates covering the same span: kinds proven by
    /// check digits beat looser ones (two mod-11 digits beat one Luhn digit).
    fn specificity(self) -> u8 {
        match self {
            PiiKind::Cpf | PiiKind::Cnpj => 5,
            PiiKind::Card => 4,
            PiiKind::Secret => 3,
            PiiKind::Email => 2,
            PiiKind::Phone => 1,
        }
    }
}

/// One finding: a kind and a byte range of the scanned text (on char boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub kind: PiiKind,
    /// Byte offset where the finding starts (inclusive).
    pub start: usize,
    /// Byte offset where the finding ends (exclusive).
    pub end: usize,
}

/// All findings, sorted by start, non-overlapping (when candidates overlap keep
/// the earliest-starting, then longest; if a span is both e.g. a CPF and a
/// phone, prefer the more specific validated kind: Card/Cpf/Cnpj over Phone).
#[must_use]
pub fn scan(text: &str) -> Vec<Finding> {
    Findings::new(text).collect()
}

/// The first kind found, or None; may stop early (fast path for routing).
#[must_use]
pub fn first(text: &str) -> Option<PiiKind> {
    Findings::new(text).next().map(|f| f.kind)
}

/// The text with every finding replaced by its placeholder, plus the kinds
/// replaced (sorted, deduplicated).
#[must_use]
pub fn redact(text: &str) -> (String, Vec<PiiKind>) {
    let mut out = text.to_owned();
    let mut kinds = Vec::new();
    // A placeholder can expose a neighbour that a boundary rule hid (in
    // `a@b.co4111111111111111` the card touches a letter until the e-mail
    // becomes `[EMAIL]`), so redact until a scan comes back clean. No pattern
    // matches `[` or `]`, so every round shrinks the original text left between
    // placeholders and the loop ends; the bound only makes that explicit.
    for _ in 0..=text.len() {
        let findings = scan(&out);
        if findings.is_empty() {
            break;
        }
        let mut next = String::with_capacity(out.len());
        let mut last = 0;
        for f in &findings {
            next.push_str(out.get(last..f.start).unwrap_or_default());
            next.push_str(f.kind.placeholder());
            kinds.push(f.kind);
            last = f.end;
        }
        next.push_str(out.get(last..).unwrap_or_default());
        out = next;
    }
    kinds.sort_unstable();
    kinds.dedup();
    (out, kinds)
}

// ---------------------------------------------------------------------------
// Patterns

/// CPF layouts; in every shape `d` stands for an ASCII digit and any other
/// character for itself.
const CPF_SHAPES: [&str; 3] = ["ddd.ddd.ddd-dd", "ddddddddd-dd", "ddddddddddd"];

/// CNPJ layouts.
const CNPJ_SHAPES: [&str; 2] = ["dd.ddd.ddd/dddd-dd", "dddddddddddddd"];

/// Phone layouts without a country code. `true` marks Brazilian ones, which
/// must also have a real area code and subscriber prefix (see [`brazil_ok`]).
const PHONE_SHAPES: [(&str, bool); 16] = [
    ("(dd) ddddd-dddd", true),
    ("(dd)ddddd-dddd", true),
    ("(dd) dddd-dddd", true),
    ("(dd)dddd-dddd", true),
    ("(dd) ddddd dddd", true),
    ("(dd) dddd dddd", true),
    ("dd ddddd-dddd", true),
    ("dd dddd-dddd", true),
    ("(ddd) ddd-dddd", false),
    ("(ddd)ddd-dddd", false),
    ("(ddd) ddd dddd", false),
    ("ddd-ddd-dddd", false),
    ("ddd.ddd.dddd", false),
    ("ddd ddd-dddd", false),
    ("1-ddd-ddd-dddd", false),
    ("1 (ddd) ddd-dddd", false),
];

/// Where a card may start: an issuer prefix that [`plausible_issuer`] accepts,
/// then the rest of one of the accepted layouts (bare 13–19 digits, groups of
/// four, 4-6-4/5). [`card_at`] decides. Checking the issuer here already keeps
/// tables of years from turning every number into a candidate.
const CARD_START: &str = concat!(
    r"(?-u:\b)(?:[3-6][0-9]{3}|2(?:2(?:0[0-4]|2[1-9]|[3-9][0-9])|[3-6][0-9]{2}|7(?:[01][0-9]|20)))",
    r"(?:[ \-][0-9]{4,6}[ \-][0-9]{4}|[0-9]{9})",
);

/// Where an international phone may start: `+`, a non-zero digit and at least
/// seven more digits or separators. [`intl_phone_at`] decides.
const INTL_PHONE_START: &str = r"\+[1-9][0-9 .()\-]{7,}";

/// local@domain.tld; letters may be non-ASCII (`joão@exemplo.com.br`).
const EMAIL: &str = r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}";

/// Vendor keys and tokens with a recognisable shape, and PEM private keys
/// (the whole block when its END line is there, otherwise the header and the
/// base64 lines under it).
const TOKEN: &str = concat!(
    r"(?-u:\b)(?:",
    r"sk-[A-Za-z0-9_\-]{20,}",
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)",
    r"|gh[pousr]_[A-Za-z0-9]{20,}",
    r"|github_pat_[A-Za-z0-9_]{20,}",
    r"|xox[baprs]-[A-Za-z0-9\-]{10,}",
    r"|AIza[A-Za-z0-9_\-]{35}",
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
    r")",
    r"|-----BEGIN[ A-Z0-9]*PRIVATE KEY-----(?:",
    r"[A-Za-z0-9+/=:,. \t\r\n\-]*?-----END[ A-Z0-9]*PRIVATE KEY-----",
    r"|(?:\r?\n[A-Za-z0-9+/=]{16,})*",
    r")",
);

/// `Bearer <token>`; only the token is reported.
const BEARER: &str = r"(?-u:\b)[Bb]earer[ \t]+[A-Za-z0-9._~+/=\-]{20,}";

/// `password=...`, `"api_key": "..."`, `senha: ...`; only the value is
/// reported, so redaction keeps the name. The value never starts with `[`
/// (a placeholder) or `<` (a template like `<your-key>`). Passwords are often
/// short (`senha: 123456`), so 4 characters make one; keys and tokens need 8.
const ASSIGNMENT: &str = concat!(
    r"(?:(?i-u:pass(?:word|wd|phrase)|senha)",
    r#"["']?[ \t]*[:=][ \t]*["']?[^\s"'\[\]<>]{4,}"#,
    r"|(?i-u:secret(?:[_\-]?access)?(?:[_\-]?key)?",
    r"|api[_\-]?key|access[_\-]?key|private[_\-]?key|token)",
    r#"["']?[ \t]*[:=][ \t]*["']?[^\s"'\[\]<>]{8,}"#,
    r")",
);

/// The regex for a fixed digit shape; digit-led shapes need an ASCII word
/// boundary in front, which keeps long digit runs from yielding a candidate at
/// every position.
fn shape_regex(shape: &str) -> String {
    let mut out = String::new();
    if shape.starts_with(|c: char| c == 'd' || c.is_ascii_digit()) {
        out.push_str(r"(?-u:\b)");
    }
    let mut buf = [0u8; 4];
    for c in shape.chars() {
        if c == 'd' {
            out.push_str("[0-9]");
        } else {
            out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
        }
    }
    out
}

/// Every place where some kind could start, as one leftmost-first regex.
/// `None` only if a pattern fails to compile, which a test rules out.
static DETECT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let shapes = CPF_SHAPES
        .iter()
        .chain(CNPJ_SHAPES.iter())
        .chain(PHONE_SHAPES.iter().map(|(shape, _)| shape))
        .map(|shape| shape_regex(shape));
    let fixed = [
        CARD_START,
        INTL_PHONE_START,
        EMAIL,
        TOKEN,
        BEARER,
        ASSIGNMENT,
    ]
    .map(String::from);
    let pattern = shapes
        .chain(fixed)
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&pattern).ok()
});

/// A pattern anchored at the start of the haystack; searched on `&text[s..]`
/// it only looks at what starts at `s` and stops as soon as it cannot match.
fn anchored(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{pattern})")).ok()
}

static EMAIL_AT: LazyLock<Option<Regex>> = LazyLock::new(|| anchored(EMAIL));
static TOKEN_AT: LazyLock<Option<Regex>> = LazyLock::new(|| anchored(TOKEN));
static BEARER_AT: LazyLock<Option<Regex>> = LazyLock::new(|| anchored(BEARER));
static ASSIGNMENT_AT: LazyLock<Option<Regex>> = LazyLock::new(|| anchored(ASSIGNMENT));

/// Length of the anchored match at the start of `rest`, if any.
fn anchored_len(re: &'static LazyLock<Option<Regex>>, rest: &str) -> Option<usize> {
    LazyLock::force(re).as_ref()?.find(rest).map(|m| m.end())
}

// ---------------------------------------------------------------------------
// Search loop

/// Yields findings left to right; `pos` only moves forward.
struct Findings<'t> {
    text: &'t str,
    pos: usize,
    /// Offset of the next `@` at or after the last candidate (`usize::MAX`:
    /// none left; `None`: not looked up yet). An e-mail needs one, and knowing
    /// where it is spares the e-mail matcher on every digit-only candidate.
    next_at: Option<usize>,
}

impl<'t> Findings<'t> {
    fn new(text: &'t str) -> Self {
        Findings {
            text,
            pos: 0,
            next_at: None,
        }
    }

    /// Whether an `@` follows byte `s`. Lookups start where the previous one
    /// stopped being useful, so all of them together read the text once.
    fn at_sign_after(&mut self, s: usize) -> bool {
        let at = match self.next_at {
            Some(at) if at >= s => at,
            _ => {
                let at = self
                    .text
                    .get(s..)
                    .and_then(|rest| rest.find('@'))
                    .map_or(usize::MAX, |i| s + i);
                self.next_at = Some(at);
                at
            }
        };
        at != usize::MAX
    }
}

impl Iterator for Findings<'_> {
    type Item = Finding;

    fn next(&mut self) -> Option<Finding> {
        let detect = LazyLock::force(&DETECT).as_ref()?;
        while self.pos < self.text.len() {
            let s = detect.find_at(self.text, self.pos)?.start();
            let email_possible = self.at_sign_after(s);
            if let Some(found) = candidate_at(self.text, s, email_possible) {
                self.pos = found.end;
                return Some(found);
            }
            // Nothing real starts at `s`: try the next character.
            self.pos = s + self.text.get(s..)?.chars().next().map_or(1, char::len_utf8);
        }
        None
    }
}

/// Whether candidate `a` beats `b`: earlier start, then longer, then more specific.
fn outranks(a: Finding, b: Finding) -> bool {
    let key = |f: Finding| (f.start, Reverse(f.end), Reverse(f.kind.specificity()));
    key(a) < key(b)
}

/// The best finding among all kinds' matchers at byte `s`, if any survives
/// validation. Matchers that cannot start with the byte at `s` are skipped.
fn candidate_at(text: &str, s: usize, email_possible: bool) -> Option<Finding> {
    let rest = text.get(s..)?;
    let lead = *rest.as_bytes().first()?;
    let mut best: Option<Finding> = None;
    let mut offer = |kind: PiiKind, start: usize, end: usize| {
        let f = Finding { kind, start, end };
        if best.is_none_or(|b| outranks(f, b)) {
            best = Some(f);
        }
    };

    if matches!(lead, b'0'..=b'9' | b'(' | b'+') && left_ok(text, s) {
        if lead == b'+' {
            if let Some(end) = intl_phone_at(text, s) {
                offer(PiiKind::Phone, s, end);
            }
        } else {
            if let Some(end) = cpf_at(text, s) {
                offer(PiiKind::Cpf, s, end);
            }
            if let Some(end) = cnpj_at(text, s) {
                offer(PiiKind::Cnpj, s, end);
            }
            if let Some(end) = card_at(text, s) {
                offer(PiiKind::Card, s, end);
            }
            if let Some(end) = local_phone_at(text, s) {
                offer(PiiKind::Phone, s, end);
            }
        }
    }
    if email_possible && let Some(len) = anchored_len(&EMAIL_AT, rest) {
        offer(PiiKind::Email, s, s + len);
    }
    // Every secret pattern starts with an ASCII letter or `-----BEGIN`.
    if lead.is_ascii_alphabetic() || lead == b'-' {
        if let Some(len) = anchored_len(&TOKEN_AT, rest) {
            offer(PiiKind::Secret, s, s + len);
        }
        if let Some((from, to)) = bearer_value(rest) {
            offer(PiiKind::Secret, s + from, s + to);
        }
        if let Some((from, to)) = assignment_value(rest) {
            offer(PiiKind::Secret, s + from, s + to);
        }
    }
    best
}

// ---------------------------------------------------------------------------
// Boundaries and small parsers

/// A digit-based candidate may not continue a word or a number to its left.
fn left_ok(text: &str, s: usize) -> bool {
    let mut before = text.get(..s).unwrap_or_default().chars().rev();
    match before.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || c == '_' => false,
        Some('.' | ',' | '-' | '/') => !before.next().is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// A digit-based candidate may not continue a word or a number to its right.
fn right_ok(text: &str, end: usize) -> bool {
    let mut after = text.get(end..).unwrap_or_default().chars();
    match after.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || c == '_' => false,
        Some('.' | ',' | '-' | '/') => !after.next().is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// Where `shape` ends if the text at `s` has that shape.
fn fits(text: &str, s: usize, shape: &str) -> Option<usize> {
    // Cheap first test: the digit run at `s` must be as long as the shape's.
    let lead = shape
        .bytes()
        .take_while(|&b| b == b'd' || b.is_ascii_digit())
        .count();
    if digit_run(text.as_bytes(), s) != lead {
        return None;
    }
    let end = s.checked_add(shape.len())?;
    let span = text.as_bytes().get(s..end)?;
    let same = span.iter().zip(shape.bytes()).all(|(&b, want)| {
        if want == b'd' {
            b.is_ascii_digit()
        } else {
            b == want
        }
    });
    same.then_some(end)
}

/// Count of consecutive ASCII digits at `at`, capped: nothing valid here has a
/// run over 19, and the cap keeps a huge digit run cheap.
fn digit_run(bytes: &[u8], at: usize) -> usize {
    bytes.get(at..).map_or(0, |tail| {
        tail.iter()
            .take(20)
            .take_while(|b| b.is_ascii_digit())
            .count()
    })
}

/// Digit values of a span (at most 20, which every kind here fits in) and
/// their count.
fn digits_in(span: &str) -> Option<([u8; 20], usize)> {
    let mut buf = [0u8; 20];
    let mut n = 0;
    for b in span.bytes().filter(u8::is_ascii_digit) {
        *buf.get_mut(n)? = b - b'0';
        n += 1;
    }
    Some((buf, n))
}

/// Runs `check` on the digit values of `text[s..end]`.
fn digits_pass(text: &str, s: usize, end: usize, check: impl Fn(&[u8]) -> bool) -> bool {
    text.get(s..end)
        .and_then(digits_in)
        .is_some_and(|(buf, n)| buf.get(..n).is_some_and(check))
}

/// Repeated digits (000.000.000-00, 11.111.111/1111-11) satisfy the check-digit
/// formulas but are never issued, and are common dummy values.
fn all_same(d: &[u8]) -> bool {
    d.windows(2).all(|w| w.first() == w.last())
}

/// Mod-11 check digit used by CPF and CNPJ: weighted sum, remainder below 2
/// gives 0, otherwise 11 minus the remainder.
fn mod11_digit(d: &[u8], weights: impl Iterator<Item = u32>) -> u8 {
    let sum: u32 = d.iter().zip(weights).map(|(&x, w)| u32::from(x) * w).sum();
    match sum % 11 {
        0 | 1 => 0,
        r => u8::try_from(11 - r).unwrap_or(0), // r is 2..=10
    }
}

/// CPF: the 10th digit checks the first 9 (weights 10..=2), the 11th checks
/// the first 10 (weights 11..=2). Catches typos and made-up numbers.
fn cpf_valid(d: &[u8]) -> bool {
    let [body @ .., d1, d2] = d else {
        return false;
    };
    d.len() == 11
        && !all_same(d)
        && mod11_digit(body, (2..=10).rev()) == *d1
        && mod11_digit(d.get(..10).unwrap_or_default(), (2..=11).rev()) == *d2
}

/// CNPJ: like CPF but the weights run 2..=9 from the right and wrap around,
/// over 12 and then 13 digits.
fn cnpj_valid(d: &[u8]) -> bool {
    // Weight of position i among n digits: 2 + ((n - 1 - i) mod 8).
    let weights = |n: u32| (0..n).map(move |i| 2 + (n - 1 - i) % 8);
    let [body @ .., d1, d2] = d else {
        return false;
    };
    d.len() == 14
        && !all_same(d)
        && mod11_digit(body, weights(12)) == *d1
        && mod11_digit(d.get(..13).unwrap_or_default(), weights(13)) == *d2
}

/// Luhn: doubling every second digit from the right makes any single wrong
/// digit or swapped neighbours change the sum mod 10; real card numbers pass.
fn luhn_valid(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            match (i % 2, x * 2) {
                (0, _) => x,
                (_, y) if y > 9 => y - 9,
                (_, y) => y,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Issuer prefix: cards start with 3–6 (travel, banking, merchandising) or in
/// the 2-series ranges of Mastercard (2221–2720) and Mir (2200–2204). Ruling
/// out the rest drops millisecond/microsecond timestamps and snowflake ids
/// (which start with 1) and runs of years (2019 2020 2021 2022).
fn plausible_issuer(d: &[u8]) -> bool {
    match d {
        [3..=6, ..] => true,
        [2, a, b, c, ..] => {
            let p = 2000 + 100 * u32::from(*a) + 10 * u32::from(*b) + u32::from(*c);
            (2200..=2204).contains(&p) || (2221..=2720).contains(&p)
        }
        _ => false,
    }
}

/// A 14-digit run that reads as `YYYYMMDDhhmmss` is a timestamp, not a CNPJ.
fn looks_like_timestamp(d: &[u8]) -> bool {
    let num = |from: usize, len: usize| {
        d.iter()
            .skip(from)
            .take(len)
            .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
    };
    d.len() == 14
        && (1900..=2099).contains(&num(0, 4))
        && (1..=12).contains(&num(4, 2))
        && (1..=31).contains(&num(6, 2))
        && num(8, 2) < 24
        && num(10, 2) < 60
        && num(12, 2) < 60
}

/// Brazilian number: area codes (DDD) never contain 0; 9-digit subscriber
/// numbers are mobiles and start with 9; 8-digit ones are landlines and start
/// with 2–5. `12 2020-2021` is a year range, not a landline.
fn brazil_ok(d: &[u8]) -> bool {
    let is_year = |w: &[u8]| matches!(w, [1, 9, _, _] | [2, 0, _, _]);
    match d {
        [area1, area2, rest @ ..] if *area1 != 0 && *area2 != 0 => match rest {
            [9, _, _, _, _, _, _, _, _] => true,
            [2..=5, _, _, _, _, _, _, _] => {
                !(rest.get(..4).is_some_and(is_year) && rest.get(4..).is_some_and(is_year))
            }
            _ => false,
        },
        _ => false,
    }
}

/// A CPF at `s`: one of [`CPF_SHAPES`], standing alone, with valid check digits.
fn cpf_at(text: &str, s: usize) -> Option<usize> {
    let end = CPF_SHAPES.iter().find_map(|shape| fits(text, s, shape))?;
    (right_ok(text, end) && digits_pass(text, s, end, cpf_valid)).then_some(end)
}

/// A CNPJ at `s`: one of [`CNPJ_SHAPES`], standing alone, with valid check
/// digits, and when bare not a `YYYYMMDDhhmmss` timestamp.
fn cnpj_at(text: &str, s: usize) -> Option<usize> {
    let end = CNPJ_SHAPES.iter().find_map(|shape| fits(text, s, shape))?;
    let bare = end - s == 14;
    let ok = |d: &[u8]| cnpj_valid(d) && !(bare && looks_like_timestamp(d));
    (right_ok(text, end) && digits_pass(text, s, end, ok)).then_some(end)
}

/// Card layouts by group length: one bare run, groups of four with a shorter
/// last group (4-4-4-4, 4-4-4-4-3, 4-4-4-1), or the 4-6-4 / 4-6-5 of Diners
/// and Amex; always 13–19 digits.
fn card_layout(lens: &[usize]) -> bool {
    let total: usize = lens.iter().sum();
    (13..=19).contains(&total)
        && match lens {
            [_] | [4, 6, 4 | 5] => true,
            [4, middle @ .., last] => middle.iter().all(|&m| m == 4) && (1..=4).contains(last),
            _ => false,
        }
}

/// A card at `s`: reads digit groups joined by one consistent single space or
/// dash, then takes the longest prefix of whole groups that has a card layout,
/// stands alone and passes the issuer and Luhn checks (so a year written right
/// after a card does not hide it).
fn card_at(text: &str, s: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if !matches!(bytes.get(s), Some(b'2'..=b'6')) {
        return None; // no issuer starts otherwise
    }
    let mut groups = [(0usize, 0usize); 6]; // (end, length) of each group
    let mut n = 0;
    let mut total = 0;
    let mut sep = None;
    let mut i = s;
    while let Some(slot) = groups.get_mut(n) {
        let run = digit_run(bytes, i);
        if run == 0 {
            break;
        }
        i += run;
        total += run;
        *slot = (i, run);
        n += 1;
        if total > 19 {
            break;
        }
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(&c @ (b' ' | b'-')), Some(next))
                if next.is_ascii_digit() && sep.is_none_or(|x| x == c) =>
            {
                sep = Some(c);
                i += 1;
            }
            _ => break,
        }
    }
    let mut lens = [0usize; 6];
    for (len, g) in lens.iter_mut().zip(&groups) {
        *len = g.1;
    }
    (1..=n).rev().find_map(|k| {
        let end = groups.get(k - 1)?.0;
        let ok = card_layout(lens.get(..k)?)
            && right_ok(text, end)
            && digits_pass(text, s, end, |d| {
                plausible_issuer(d) && luhn_valid(d) && d.iter().any(|&x| x != 0)
            });
        ok.then_some(end)
    })
}

/// A phone without country code at `s`, by the shapes in [`PHONE_SHAPES`].
fn local_phone_at(text: &str, s: usize) -> Option<usize> {
    PHONE_SHAPES.iter().find_map(|&(shape, brazil)| {
        let end = fits(text, s, shape)?;
        let ok = right_ok(text, end) && (!brazil || digits_pass(text, s, end, brazil_ok));
        ok.then_some(end)
    })
}

/// An international number at `s` (which holds `+`): digits right after the
/// plus, then groups each after at most one space, dot or dash, where a group
/// is a digit run or a parenthesised one. Takes the longest prefix of whole
/// groups with 8–15 digits (E.164) that stands alone. `+10.000.000` is an
/// amount: a prefix whose later groups are all `.ddd` is rejected.
fn intl_phone_at(text: &str, s: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = s + 1;
    if !matches!(bytes.get(i), Some(b'1'..=b'9')) {
        return None;
    }
    let lead = digit_run(bytes, i);
    i += lead;
    let mut digits = lead;
    // (end, digits so far, all later groups are `.ddd`); the first entry is
    // the run glued to the plus.
    let mut ends = [(i, digits, true); 12];
    let mut n = 1;
    let mut thousands = true;
    while n < ends.len() && digits <= 15 {
        let mut j = i;
        let sep = bytes
            .get(j)
            .copied()
            .filter(|b| matches!(b, b' ' | b'.' | b'-'));
        if sep.is_some() {
            j += 1;
        }
        let (end, run, paren) = if bytes.get(j) == Some(&b'(') {
            let run = digit_run(bytes, j + 1);
            if !(1..=5).contains(&run) || bytes.get(j + 1 + run) != Some(&b')') {
                break;
            }
            (j + 2 + run, run, true)
        } else {
            let run = digit_run(bytes, j);
            if run == 0 {
                break;
            }
            (j + run, run, false)
        };
        i = end;
        digits += run;
        thousands &= sep == Some(b'.') && run == 3 && !paren;
        if let Some(slot) = ends.get_mut(n) {
            *slot = (i, digits, thousands);
            n += 1;
        }
    }
    ends.get(..n)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .rev()
        .find(|&(k, &(end, d, dotted))| {
            let amount = k > 0 && dotted && lead <= 3;
            (8..=15).contains(&d) && !amount && right_ok(text, end)
        })
        .map(|(_, &(end, _, _))| end)
}

/// The token of `Bearer <token>` at the start of `rest`, as a byte range.
fn bearer_value(rest: &str) -> Option<(usize, usize)> {
    let len = anchored_len(&BEARER_AT, rest)?;
    let after = rest.get(6..len)?; // "Bearer" is 6 bytes
    let from = 6 + after
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    Some((from, len))
}

/// The value of `name = value` / `name: value` at the start of `rest`, as a
/// byte range, unless it looks like code or prose rather than a secret:
/// unquoted `os.environ.get(`, `self.token`, `${VAR}`, or `secret: patience`.
fn assignment_value(rest: &str) -> Option<(usize, usize)> {
    let len = anchored_len(&ASSIGNMENT_AT, rest)?;
    let matched = rest.get(..len)?;
    let sep = matched.find([':', '='])?;
    let pad = matched
        .get(sep + 1..)?
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'"' | b'\''))
        .count();
    let from = sep + 1 + pad;
    let value = matched.get(from..)?;
    let quoted = matched
        .get(..from)
        .is_some_and(|head| head.ends_with(['"', '\'']));
    let colon = matched.as_bytes().get(sep) == Some(&b':');
    let looks_like_code = value.contains(['(', ')']) || value.starts_with(['$', '{']);
    let dotted_name = value.contains('.')
        && value.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    let plain_word = value.chars().all(char::is_alphabetic);
    let ok = quoted || !(looks_like_code || dotted_name || (colon && plain_word));
    ok.then_some((from, len))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The kinds and spans found, as (kind, matched text).
    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        scan(text)
            .into_iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect()
    }

    fn kinds(text: &str) -> Vec<PiiKind> {
        scan(text).into_iter().map(|f| f.kind).collect()
    }

    /// Asserts that `text` yields exactly one finding, of `kind`, covering `part`.
    #[track_caller]
    fn assert_one(text: &str, kind: PiiKind, part: &str) {
        assert_eq!(found(text), vec![(kind, part)], "in {text:?}");
    }

    #[track_caller]
    fn assert_clean(text: &str) {
        assert_eq!(found(text), vec![], "in {text:?}");
        assert_eq!(first(text), None, "in {text:?}");
    }

    #[test]
    fn patterns_compile() {
        for re in [&DETECT, &EMAIL_AT, &TOKEN_AT, &BEARER_AT, &ASSIGNMENT_AT] {
            assert!(LazyLock::force(re).is_some());
        }
    }

    #[test]
    fn names_and_placeholders() {
        let all = [
            PiiKind::Email,
            PiiKind::Phone,
            PiiKind::Cpf,
            PiiKind::Cnpj,
            PiiKind::Card,
            PiiKind::Secret,
        ];
        let names: Vec<_> = all.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["email", "phone", "cpf", "cnpj", "card", "secret"]);
        for k in all {
            assert_eq!(k.placeholder(), format!("[{}]", k.as_str().to_uppercase()));
        }
    }

    #[test]
    fn check_digit_helpers() {
        let d = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(cpf_valid(&d("12345678909")));
        assert!(cpf_valid(&d("52998224725")));
        assert!(!cpf_valid(&d("12345678900")));
        assert!(!cpf_valid(&d("11111111111")));
        assert!(!cpf_valid(&d("1234567890")));
        assert!(cnpj_valid(&d("11222333000181")));
        assert!(cnpj_valid(&d("12345678000195")));
        assert!(!cnpj_valid(&d("12345678000196")));
        assert!(!cnpj_valid(&d("00000000000000")));
        assert!(luhn_valid(&d("4111111111111111")));
        assert!(luhn_valid(&d("79927398713")));
        assert!(!luhn_valid(&d("4111111111111112")));
        assert!(looks_like_timestamp(&d("20240115103000")));
        assert!(!looks_like_timestamp(&d("12345678000195")));
    }

    #[test]
    fn emails() {
        assert_one(
            "Please write to ana.souza+ops@example.com.br today.",
            PiiKind::Email,
            "ana.souza+ops@example.com.br",
        );
        assert_one(
            "Contato: joão@exemplo.com",
            PiiKind::Email,
            "joão@exemplo.com",
        );
        assert_one("<bob@mail.co>", PiiKind::Email, "bob@mail.co");
        for text in [
            "user@localhost is the default",
            "ping @channel about it",
            "install react@18.2.0 and lodash@4.17.21",
            "a@b.c",
            "email me at",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn phones() {
        for (text, part) in [
            ("Ligue (11) 91234-5678 amanhã", "(11) 91234-5678"),
            ("ligue 11 91234-5678.", "11 91234-5678"),
            ("whatsapp +55 11 91234-5678", "+55 11 91234-5678"),
            ("fixo (21) 3456-7890", "(21) 3456-7890"),
            ("call (415) 555-0132 now", "(415) 555-0132"),
            ("call 415-555-0132", "415-555-0132"),
            ("call 415.555.0132", "415.555.0132"),
            ("toll free 1-800-555-0132.", "1-800-555-0132"),
            ("or 1 (800) 555-0132", "1 (800) 555-0132"),
            ("London +44 20 7946 0958", "+44 20 7946 0958"),
            ("US +1 (415) 555-0132", "+1 (415) 555-0132"),
            ("E.164 +5511912345678", "+5511912345678"),
            ("+55 11 91234-5678 2024", "+55 11 91234-5678"),
        ] {
            assert_one(text, PiiKind::Phone, part);
        }
        for text in [
            "on 20240115 we shipped 1234567 units",
            "in 1999 and 2024, prices rose 12%",
            "the range 12 2020-2021 was bad",
            "(10) 91234-5678 is not an area code",
            "(11) 81234-5678 lacks the mobile 9",
            "agora somos +10.000.000 de usuários",
            "score +12.5 points, 1+12345678",
            "date 2024-01-15, time 10:30:45, tz +05:30",
            "call 555-0132",
            "4155550132",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn cpfs() {
        assert_one("Meu CPF é 123.456.789-09.", PiiKind::Cpf, "123.456.789-09");
        assert_one("cpf 52998224725 ok", PiiKind::Cpf, "52998224725");
        assert_one("cpf:529982247-25", PiiKind::Cpf, "529982247-25");
        for text in [
            "CPF 123.456.789-00 inválido",
            "CPF 111.111.111-11",
            "00000000000",
            "id 9123456789099 long run",
            "x52998224725",
            "1.123.456.789-09",
            "123.456.789-09-1",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn cnpjs() {
        assert_one(
            "CNPJ 12.345.678/0001-95",
            PiiKind::Cnpj,
            "12.345.678/0001-95",
        );
        assert_one("cnpj=11222333000181;", PiiKind::Cnpj, "11222333000181");
        for text in [
            "CNPJ 12.345.678/0001-96",
            "CNPJ 11.111.111/1111-11",
            "run 112223330001811",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn cards() {
        for (text, part) in [
            ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
            ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
            ("card 4111111111111111.", "4111111111111111"),
            ("mc 5555555555554444", "5555555555554444"),
            ("mc2 2223003122003222", "2223003122003222"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("disc 6011111111111117", "6011111111111117"),
            ("card 4111 1111 1111 1111 2024", "4111 1111 1111 1111"),
        ] {
            assert_one(text, PiiKind::Card, part);
        }
        for text in [
            "card 4111 1111 1111 1112",
            "card 4111-1111 1111-1111",
            "0000000000000000",
            "ts 1705312345678 ms",
            "ts 1705312345678901 us",
            "years 2019 2020 2021 2022",
            "x4111111111111111",
            "41111111111111111111",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn secrets() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        for (text, part) in [
            (
                "key sk-abcdefghijklmnopqrstuvwx1234",
                "sk-abcdefghijklmnopqrstuvwx1234",
            ),
            (
                "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl",
                "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl",
            ),
            (
                "use sk-ant-api03-AbCdEf0123456789xyz_-QQ",
                "sk-ant-api03-AbCdEf0123456789xyz_-QQ",
            ),
            ("aws AKIAIOSFODNN7EXAMPLE.", "AKIAIOSFODNN7EXAMPLE"),
            (
                "tok ghp_0123456789abcdefABCDEF0123",
                "ghp_0123456789abcdefABCDEF0123",
            ),
            (
                "github_pat_11ABCDEFG0123456789_abcdefXYZ",
                "github_pat_11ABCDEFG0123456789_abcdefXYZ",
            ),
            (
                "slack xoxb-123456789012-abcdefABCDEF",
                "xoxb-123456789012-abcdefABCDEF",
            ),
            (
                "AIzaSyA1234567890abcdefghijklmnopqrstuv",
                "AIzaSyA1234567890abcdefghijklmnopqrstuv",
            ),
            (
                "Authorization: Bearer abcDEF0123456789ghiJKL",
                "abcDEF0123456789ghiJKL",
            ),
            ("password=hunter2hunter2", "hunter2hunter2"),
            ("DB_PASSWORD=supersecret", "supersecret"),
            ("\"api_key\": \"abcd1234efgh\"", "abcd1234efgh"),
            ("senha: Mudar@123", "Mudar@123"),
            ("password=hunter2", "hunter2"),
            ("senha: 123456", "123456"),
            ("https://x.io/cb?token=abcdef123456&a=1", "abcdef123456&a=1"),
        ] {
            assert_one(text, PiiKind::Secret, part);
        }
        assert_one(&format!("jwt {jwt} end"), PiiKind::Secret, jwt);
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234567890abcdef\nQWERTYUIOPASDFGHJKL+/=\n-----END RSA PRIVATE KEY-----";
        assert_one(&format!("key:\n{pem}\nthanks"), PiiKind::Secret, pem);
        let header = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE";
        assert_one(&format!("{header}\nthen"), PiiKind::Secret, header);
        for text in [
            "the task-management-system-design-document is long",
            "set max_tokens=4096 and the token budget",
            "password: <your password here>",
            "api_key = os.environ.get(\"OPENAI_API_KEY\")",
            "token = request.headers",
            "the secret: patience",
            "Bearer of bad news",
            "AKIAIOSFODNN7EXAMPLEX",
            "tokenizer: BertTokenizerFast",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn ordinary_text_is_clean() {
        for text in [
            "Release 1.2.3 shipped on 2024-01-15 at 10:30:00Z (build 20240115).",
            "Timestamp 2024-01-15T10:30:00+05:30, epoch 1705312200 or 1705312200123.",
            "UUID 550e8400-e29b-41d4-a716-446655440000 and 12345678-1234-1234-1234-123456789012.",
            "Preço: R$ 1.234,56 ou R$ 123.456.789,00; receita de US$ 2,761 em 2023.",
            "Population 214.300.000; area 8,515,767 km²; 15/01/2024; nº 42.",
            "IP 192.168.100.1000, commit a1b2c3d4e5f60718293a4b5c6d7e8f9012345678, port 8080.",
            "Em 2024, a empresa cresceu 35% e contratou 1.200 pessoas.",
            "version v10.123.456, sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "",
            "ação, coração, 東京, emoji 🎉 and Ünïcödé",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn sentences() {
        let pt = "Olá, meu nome é Ana, CPF 123.456.789-09, e-mail ana@empresa.com.br, \
                  celular (11) 91234-5678 e cartão 4111 1111 1111 1111.";
        assert_eq!(
            kinds(pt),
            [PiiKind::Cpf, PiiKind::Email, PiiKind::Phone, PiiKind::Card]
        );
        let en = "Hi, I'm Bob. Reach me at bob@example.org or (415) 555-0132; \
                  our key is sk-abcdefghijklmnopqrstuvwx1234.";
        assert_eq!(kinds(en), [PiiKind::Email, PiiKind::Phone, PiiKind::Secret]);
        assert_eq!(first(en), Some(PiiKind::Email));
    }

    #[test]
    fn overlapping_candidates() {
        // An e-mail whose local part is a CPF: the longer e-mail wins.
        assert_one(
            "12345678909@mail.com",
            PiiKind::Email,
            "12345678909@mail.com",
        );
        // A bare 14-digit number that is both a valid CNPJ and a card: CNPJ wins.
        let both = (0u64..)
            .map(|seed| format!("{:012}", 400_000_000_000 + seed * 7919))
            .find_map(|body| {
                let d: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
                let d1 = mod11_digit(&d, (0..12).map(|i| 2 + (11 - i) % 8));
                let mut d = d;
                d.push(d1);
                let d2 = mod11_digit(&d, (0..13).map(|i| 2 + (12 - i) % 8));
                d.push(d2);
                (luhn_valid(&d) && cnpj_valid(&d))
                    .then(|| d.iter().map(|x| char::from(b'0' + x)).collect::<String>())
            })
            .unwrap();
        assert_one(&format!("n {both} n"), PiiKind::Cnpj, &both);
    }

    #[test]
    fn redaction() {
        let (out, ks) = redact("Email a@b.com or call (11) 91234-5678, password=hunter2hunter2");
        assert_eq!(out, "Email [EMAIL] or call [PHONE], password=[SECRET]");
        assert_eq!(ks, [PiiKind::Email, PiiKind::Phone, PiiKind::Secret]);
        // The card only stands alone once the e-mail is a placeholder.
        let (out, ks) = redact("x@y.co4111111111111111");
        assert_eq!(out, "[EMAIL][CARD]");
        assert_eq!(ks, [PiiKind::Email, PiiKind::Card]);
        assert_eq!(redact("nothing here"), ("nothing here".to_owned(), vec![]));
    }

    // ---- property tests ----

    /// Text built from fragments that come close to every pattern.
    fn soup() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[0-9]{1,5}",
            "[a-zA-Z]{1,6}",
            "[ .,()+/@:=_\\-\\[\\]\"']",
            Just("é".to_owned()),
            Just("東".to_owned()),
            Just("sk-".to_owned()),
            Just("password=".to_owned()),
            Just("Bearer ".to_owned()),
            Just("eyJ".to_owned()),
            Just("-----BEGIN RSA PRIVATE KEY-----\n".to_owned()),
            Just("[EMAIL]".to_owned()),
            Just("a@b.co".to_owned()),
            Just("4111 1111 1111 1111".to_owned()),
            Just("123.456.789-09".to_owned()),
            Just("+55 11 91234-5678".to_owned()),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), soup()]
    }

    fn cpf_from(nine: [u8; 9], formatted: bool) -> String {
        let mut d = nine.to_vec();
        d.push(mod11_digit(&d, (2..=10).rev()));
        d.push(mod11_digit(&d, (2..=11).rev()));
        let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        if formatted {
            format!("{}.{}.{}-{}", &s[..3], &s[3..6], &s[6..9], &s[9..])
        } else {
            s
        }
    }

    fn cnpj_from(twelve: [u8; 12], formatted: bool) -> String {
        let mut d = twelve.to_vec();
        d.push(mod11_digit(&d, (0..12).map(|i| 2 + (11 - i) % 8)));
        d.push(mod11_digit(&d, (0..13).map(|i| 2 + (12 - i) % 8)));
        let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        if formatted || looks_like_timestamp(&d) {
            format!(
                "{}.{}.{}/{}-{}",
                &s[..2],
                &s[2..5],
                &s[5..8],
                &s[8..12],
                &s[12..]
            )
        } else {
            s
        }
    }

    /// A Luhn-valid card with a real issuer digit, bare or in groups of four.
    fn card_from(lead: u8, mut body: Vec<u8>, sep: Option<char>) -> String {
        body.insert(0, lead);
        body.push(0);
        let miss = body.iter().rev().enumerate().fold(0u32, |acc, (i, &x)| {
            let x = u32::from(x);
            acc + if i % 2 == 1 {
                if x * 2 > 9 { x * 2 - 9 } else { x * 2 }
            } else {
                x
            }
        });
        if let Some(last) = body.last_mut() {
            *last = ((10 - miss % 10) % 10) as u8;
        }
        let s: String = body.iter().map(|x| char::from(b'0' + x)).collect();
        match sep {
            None => s,
            Some(c) => s
                .as_bytes()
                .chunks(4)
                .map(|g| std::str::from_utf8(g).unwrap())
                .collect::<Vec<_>>()
                .join(&c.to_string()),
        }
    }

    fn valid_pii() -> impl Strategy<Value = (PiiKind, String)> {
        prop_oneof![
            any::<[u8; 9]>()
                .prop_map(|n| n.map(|x| x % 10))
                .prop_filter("not all equal", |n| !all_same(n))
                .prop_flat_map(|n| any::<bool>().prop_map(move |f| (PiiKind::Cpf, cpf_from(n, f)))),
            any::<[u8; 12]>()
                .prop_map(|n| n.map(|x| x % 10))
                .prop_filter("not all equal", |n| !all_same(n))
                .prop_flat_map(
                    |n| any::<bool>().prop_map(move |f| (PiiKind::Cnpj, cnpj_from(n, f)))
                ),
            (
                3u8..=6,
                prop::collection::vec(0u8..10, 11..=17),
                prop_oneof![Just(None), Just(Some(' ')), Just(Some('-'))]
            )
                .prop_map(|(lead, body, sep)| (PiiKind::Card, card_from(lead, body, sep))),
            (
                "[a-z][a-z0-9._]{0,12}",
                "[a-z][a-z0-9]{0,9}",
                "(com|org|net|io|com\\.br)"
            )
                .prop_map(|(l, d, t)| (PiiKind::Email, format!("{l}@{d}.{t}"))),
        ]
    }

    fn words() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-zA-Z]{1,10}", 0..5)
    }

    fn invariants_hold(text: &str) -> Result<(), TestCaseError> {
        let findings = scan(text);
        let mut last_end = 0;
        for f in &findings {
            prop_assert!(f.start >= last_end && f.start < f.end && f.end <= text.len());
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            last_end = f.end;
        }
        prop_assert_eq!(first(text).is_some(), !findings.is_empty());
        prop_assert_eq!(first(text), findings.first().map(|f| f.kind));
        let (out, ks) = redact(text);
        prop_assert!(
            scan(&out).is_empty(),
            "redacted {:?} still has {:?}",
            out,
            scan(&out)
        );
        prop_assert!(ks.windows(2).all(|w| w[0] < w[1]));
        prop_assert_eq!(findings.is_empty(), ks.is_empty());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_and_findings_are_well_formed(text in any_text()) {
            invariants_hold(&text)?;
        }

        #[test]
        fn embedded_valid_pii_is_found(before in words(), (kind, value) in valid_pii(), after in words()) {
            let head = before.iter().map(|w| format!("{w} ")).collect::<String>();
            let text = format!("{head}{value}{}", after.iter().map(|w| format!(" {w}")).collect::<String>());
            // A bare 14-digit card that is also a valid CNPJ is reported as the more specific CNPJ.
            let digits: Vec<u8> = value.bytes().map(|b| b.wrapping_sub(b'0')).collect();
            let kind = if kind == PiiKind::Card && cnpj_valid(&digits) { PiiKind::Cnpj } else { kind };
            let want = Finding { kind, start: head.len(), end: head.len() + value.len() };
            prop_assert!(scan(&text).contains(&want), "{:?} in {:?}: {:?}", want, text, scan(&text));
            invariants_hold(&text)?;
        }

        #[test]
        fn redaction_leaves_nothing(text in any_text(), (_, value) in valid_pii(), at in any::<prop::sample::Index>()) {
            let cut = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).nth(at.index(text.chars().count() + 1)).unwrap_or(0);
            let mixed = format!("{} {value} {}", &text[..cut], &text[cut..]);
            let (out, ks) = redact(&mixed);
            prop_assert!(scan(&out).is_empty(), "{:?}", out);
            prop_assert!(!ks.is_empty());
        }

        #[test]
        fn first_agrees_with_scan(text in any_text()) {
            prop_assert_eq!(first(&text).is_some(), !scan(&text).is_empty());
        }
    }
}
