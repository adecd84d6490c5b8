//! The small pieces of RFC 5322 / RFC 2045-2047 the integration needs:
//! decoding encoded-words and address lists in received headers, base64url
//! bodies, a crude HTML-to-text fallback, and building the plain-text
//! message `send-email` hands to Gmail.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// Base64 that accepts input with or without `=` padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decode Gmail's base64url (`body.data`, `raw`): URL-safe alphabet,
/// padding optional. Whitespace is ignored, and the standard alphabet's
/// `+` and `/` are accepted too, to be forgiving.
pub fn decode_base64url(data: &str) -> Option<Vec<u8>> {
    let cleaned: String = data
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_LENIENT.decode(cleaned).ok()
}

/// Encode `data` as base64url with padding, as Gmail's `raw` field expects.
pub fn encode_base64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(data)
}

/// Decode bytes in `charset` to text: UTF-8 (lossy), with ISO-8859-1 and
/// US-ASCII mapped byte for byte (windows-1252 is close enough for a
/// fallback). Unknown charsets are read as UTF-8, lossily.
pub fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let charset = charset.trim().trim_matches('"').to_ascii_lowercase();
    match charset.as_str() {
        "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "l1" | "windows-1252" | "cp1252" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// One piece of a header value while decoding encoded-words.
enum Piece {
    Text(String),
    Encoded { charset: String, bytes: Vec<u8> },
}

/// Decode the RFC 2047 encoded-words (`=?UTF-8?B?...?=`, `=?UTF-8?Q?...?=`,
/// ISO-8859-1 too) in a header value. Whitespace between two adjacent
/// encoded-words is dropped, and adjacent words in the same charset are
/// decoded together (a multi-byte character may be split across them).
/// Folding (CRLF followed by whitespace) is unfolded first.
pub fn decode_header(value: &str) -> String {
    let value = unfold(value);
    if !value.contains("=?") {
        return value;
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = value.as_str();
    while !rest.is_empty() {
        if let Some(start) = rest.find("=?") {
            if let Some((charset, bytes, len)) = parse_encoded_word(&rest[start..]) {
                push_text(&mut pieces, &rest[..start]);
                // Whitespace alone between two encoded-words is not text.
                if let Some(Piece::Text(t)) = pieces.last()
                    && t.chars().all(char::is_whitespace)
                    && pieces.len() >= 2
                    && matches!(pieces[pieces.len() - 2], Piece::Encoded { .. })
                {
                    pieces.pop();
                }
                match pieces.last_mut() {
                    Some(Piece::Encoded {
                        charset: previous,
                        bytes: previous_bytes,
                    }) if previous.eq_ignore_ascii_case(&charset) => {
                        previous_bytes.extend_from_slice(&bytes)
                    }
                    _ => pieces.push(Piece::Encoded { charset, bytes }),
                }
                rest = &rest[start + len..];
            } else {
                push_text(&mut pieces, &rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        } else {
            push_text(&mut pieces, rest);
            rest = "";
        }
    }
    pieces
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Encoded { charset, bytes } => decode_charset(&bytes, &charset),
        })
        .collect()
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if text.is_empty() {
        return;
    }
    match pieces.last_mut() {
        Some(Piece::Text(t)) => t.push_str(text),
        _ => pieces.push(Piece::Text(text.to_string())),
    }
}

/// Parse one encoded-word at the start of `s`: its charset (without an RFC
/// 2231 language suffix), the decoded bytes and the word's length.
fn parse_encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let bad = |c: char| c.is_whitespace() || c == '?';
    if charset.is_empty() || charset.contains(bad) || text.contains(bad) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => STANDARD_LENIENT.decode(text).ok()?,
        "Q" | "q" => decode_q(text)?,
        _ => return None,
    };
    let len = "=?".len() + charset.len() + 1 + encoding.len() + 1 + text.len() + "?=".len();
    let charset = charset.split('*').next().unwrap_or(charset).to_string();
    Some((charset, bytes, len))
}

/// RFC 2047 "Q" encoding: `_` is a space, `=XX` a byte.
fn decode_q(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// Undo header folding: CRLF (or a bare LF) followed by whitespace is just
/// the whitespace; stray line breaks are dropped.
pub fn unfold(value: &str) -> String {
    value.replace("\r\n", "\n").replace(['\r', '\n'], "")
}

/// A mailbox from an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, decoded, if there is one.
    pub name: Option<String>,
    /// The address (`user@example.com`).
    pub email: String,
}

/// Parse an address list (`To`, `Cc`, `From`): quoted display names that
/// contain commas, `Name <addr>`, bare addresses, `addr (Comment)`, groups
/// (`Team: a@x, b@y;`). Display names are RFC 2047-decoded after the list
/// is split, so an encoded comma cannot split an address.
pub fn parse_address_list(value: &str) -> Vec<Mailbox> {
    let value = unfold(value);
    split_top_level(&value)
        .into_iter()
        .filter_map(|item| parse_mailbox(&item))
        .collect()
}

/// Split at commas and semicolons that are outside quotes, angle brackets
/// and comments; a group's `Name:` prefix is dropped.
fn split_top_level(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped, mut angle, mut comment) = (false, false, false, 0usize);
    for c in value.chars() {
        if escaped {
            escaped = false;
            current.push(c);
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => {
                escaped = true;
                current.push(c);
            }
            '"' if comment == 0 && !angle => {
                quoted = !quoted;
                current.push(c);
            }
            '(' if !quoted && !angle => {
                comment += 1;
                current.push(c);
            }
            ')' if !quoted && !angle && comment > 0 => {
                comment -= 1;
                current.push(c);
            }
            '<' if !quoted && comment == 0 => {
                angle = true;
                current.push(c);
            }
            '>' if !quoted && comment == 0 => {
                angle = false;
                current.push(c);
            }
            ':' if !quoted && !angle && comment == 0 => {
                // A group's display name: `Friends: a@x, b@y;`.
                current.clear();
            }
            ',' | ';' if !quoted && !angle && comment == 0 => {
                items.push(std::mem::take(&mut current));
            }
            c => current.push(c),
        }
    }
    items.push(current);
    items
}

/// Parse one mailbox: `"Name" <addr>`, `Name <addr>`, `<addr>`, `addr`,
/// `addr (Name)`.
fn parse_mailbox(item: &str) -> Option<Mailbox> {
    let (without_comments, comment) = strip_comments(item);
    let item = without_comments.trim();
    if item.is_empty() {
        return None;
    }
    let (name, email) = match (find_unquoted(item, '<'), item.rfind('>')) {
        (Some(open), Some(close)) if close > open => (
            item[..open].trim().to_string(),
            item[open + 1..close].trim(),
        ),
        _ => (String::new(), item.trim_matches(|c| c == '<' || c == '>')),
    };
    let email = email.trim().to_string();
    if email.is_empty() {
        return None;
    }
    let name = if name.is_empty() {
        comment.unwrap_or_default()
    } else {
        unquote(&name)
    };
    let name = decode_header(name.trim());
    let name = name.trim();
    Some(Mailbox {
        name: (!name.is_empty()).then(|| name.to_string()),
        email,
    })
}

/// The item without its `(comments)`, and the first comment's text.
fn strip_comments(item: &str) -> (String, Option<String>) {
    let mut out = String::new();
    let mut comment = String::new();
    let mut first_comment = None;
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in item.chars() {
        if escaped {
            escaped = false;
            if depth > 0 {
                comment.push(c);
            } else {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => {
                if depth > 0 {
                    comment.push(c);
                }
                depth += 1;
            }
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if first_comment.is_none() {
                        first_comment = Some(std::mem::take(&mut comment));
                    }
                    comment.clear();
                } else {
                    comment.push(c);
                }
            }
            c if depth > 0 => comment.push(c),
            c => out.push(c),
        }
    }
    (out, first_comment)
}

/// The index of the first `target` outside double quotes.
fn find_unquoted(s: &str, target: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == target && !quoted {
            return Some(i);
        }
    }
    None
}

/// Remove the quotes of a quoted-string (and its backslash escapes); other
/// text is returned as is.
fn unquote(s: &str) -> String {
    if !s.contains('"') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `email` is a plausible `local@domain.tld` address: an RFC 5322
/// dot-atom local part and a dotted domain of letters, digits and hyphens.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let dot_atom = |s: &str, ok: &dyn Fn(char) -> bool| {
        !s.is_empty()
            && s.split('.')
                .all(|part| !part.is_empty() && part.chars().all(ok))
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    local.len() <= 64
        && dot_atom(local, &atext)
        && domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

/// Decode the few HTML character references Gmail uses in snippets and
/// that HTML bodies commonly contain (`&amp;`, `&#39;`, `&#x27;`, ...).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A crude HTML-to-text conversion, for messages without a `text/plain`
/// part: `<script>` and `<style>` contents dropped, block ends and `<br>`
/// turned into line breaks, other tags removed, entities decoded, runs of
/// blank lines collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        rest = &rest[open..];
        let Some(close) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = rest[1..close].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        rest = &rest[close + 1..];
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let end = format!("</{name}");
            match rest.to_ascii_lowercase().find(&end) {
                Some(at) => {
                    rest = &rest[at..];
                    if let Some(gt) = rest.find('>') {
                        rest = &rest[gt + 1..];
                    }
                }
                None => rest = "",
            }
            continue;
        }
        let breaks = matches!(
            name.as_str(),
            "br" | "p"
                | "div"
                | "tr"
                | "li"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "blockquote"
                | "table"
                | "hr"
        );
        if breaks && (name == "br" || name == "hr" || tag.starts_with('/')) {
            text.push('\n');
        }
    }
    text.push_str(rest);
    let text = decode_entities(&text);
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The header value of a non-ASCII (or very long) text as RFC 2047
/// `=?UTF-8?B?...?=` words of at most 75 characters, folded with CRLF SP;
/// plain ASCII is returned as is.
pub fn encode_header_text(text: &str) -> String {
    let plain = text.is_ascii()
        && text.len() <= 900
        && !text.chars().any(|c| c.is_ascii_control() && c != '\t')
        && !text.contains("=?");
    if plain {
        return text.to_string();
    }
    // 45 bytes of UTF-8 are 60 base64 characters: 72 with the delimiters;
    // the first word shares its line with the header name, so it is shorter
    // (36 bytes: 60 characters), keeping lines under 78 characters.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        let limit = if words.is_empty() { 36 } else { 45 };
        if chunk.len() + c.len_utf8() > limit {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    }
    words.join("\r\n ")
}

/// A mailbox as a header value: `addr`, or `"Name" <addr>` (the name
/// quoted, or RFC 2047-encoded when it is not ASCII).
pub fn format_mailbox(mailbox: &Mailbox) -> String {
    match &mailbox.name {
        None => mailbox.email.clone(),
        Some(name) if name.is_ascii() => {
            let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\" <{}>", mailbox.email)
        }
        Some(name) => format!("{} <{}>", encode_header_text(name), mailbox.email),
    }
}

/// `data` as base64 in lines of 76 characters, each ended by CRLF.
pub fn base64_lines(data: &[u8]) -> String {
    let encoded = STANDARD.encode(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out
}

/// Text with every line break (`\n`, `\r\n` or a lone `\r`) as CRLF, the
/// canonical form of text before a content-transfer-encoding (RFC 2045).
pub fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words() {
        assert_eq!(decode_header("=?UTF-8?B?w6l0w6k=?="), "été");
        assert_eq!(
            decode_header("=?utf-8?q?caf=C3=A9_au_lait?="),
            "café au lait"
        );
        assert_eq!(
            decode_header("=?UTF-8?Q?a?= =?UTF-8?Q?b?= c =?ISO-8859-1?Q?=E9?="),
            "ab c é"
        );
        // A character split across two words.
        assert_eq!(decode_header("=?UTF-8?B?w6k=?=\r\n =?UTF-8?B?w6k?="), "éé");
        assert_eq!(decode_header("=?UTF-8?B?w6k"), "=?UTF-8?B?w6k");
        assert_eq!(decode_header("Re: plain"), "Re: plain");
    }

    #[test]
    fn parses_address_lists() {
        let list = parse_address_list(
            r#""Doe, Jane" <jane@example.com>, bob@example.com, <c@x.org>, d@x.org (Dee), =?UTF-8?Q?Ren=C3=A9=2C_X?= <r@x.org>, Team: e@x.org, f@x.org;"#,
        );
        let pairs: Vec<(Option<&str>, &str)> = list
            .iter()
            .map(|m| (m.name.as_deref(), m.email.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (Some("Doe, Jane"), "jane@example.com"),
                (None, "bob@example.com"),
                (None, "c@x.org"),
                (Some("Dee"), "d@x.org"),
                (Some("René, X"), "r@x.org"),
                (None, "e@x.org"),
                (None, "f@x.org"),
            ]
        );
        assert!(parse_address_list("undisclosed-recipients:;").is_empty());
    }

    #[test]
    fn validates_emails() {
        assert!(is_valid_email("a.b+c@mail.example.com"));
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email("a b@example.com"));
        assert!(!is_valid_email("a@exa_mple.com"));
        assert!(!is_valid_email("@example.com"));
    }

    #[test]
    fn html_fallback_and_entities() {
        assert_eq!(
            html_to_text("<style>p{}</style><p>Hello&nbsp;<b>there</b></p><p>it&#39;s&amp;</p>"),
            "Hello there\nit's&"
        );
        assert_eq!(
            decode_entities("a &lt;b&gt; &#x27;c&#39; & d"),
            "a <b> 'c' & d"
        );
    }

    #[test]
    fn encodes_headers() {
        assert_eq!(encode_header_text("Hello"), "Hello");
        let long = "é".repeat(40);
        let encoded = encode_header_text(&long);
        assert!(encoded.split("\r\n ").all(|w| w.len() <= 75), "{encoded}");
        assert_eq!(decode_header(&encoded), long);
        assert_eq!(
            base64_lines(&[0u8; 100]).lines().next().map(str::len),
            Some(76)
        );
        assert_eq!(crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
    }
}
