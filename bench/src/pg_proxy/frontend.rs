//! The PostgreSQL frontend protocol after the startup packet, as the proxy
//! sees it: typed messages (one type byte, a 4-byte big-endian length that
//! counts itself, the payload) arriving in arbitrary pieces.
//!
//! A round trip is a simple query (`Q`) or the `Sync` (`S`) that ends an
//! extended-protocol batch. Each is attributed to the SQL it ran: a simple
//! query's text, or for a batch the statement its last `Bind` executed
//! (prepared statements are remembered by name from their `Parse`), or
//! the statement it parsed when it only prepared one, or [`SYNC_ALONE`].

use std::collections::HashMap;

/// Payload bytes of one message kept for reading its SQL; the rest is
/// skipped (the start of a statement is enough to name it).
const CAPTURE_LIMIT: usize = 4096;
/// The label of a `Sync` with nothing before it: sqlx's connection check
/// (`ping`), which a pool runs on every acquire unless told not to
/// (`test_before_acquire`).
pub const SYNC_ALONE: &str = "(Sync alone: the pool's connection check)";
/// The longest label a statement gets.
const LABEL_LEN: usize = 110;

/// What one [`FrontendParser::feed`] completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Simple queries (`Q`).
    pub queries: u64,
    /// Syncs (`S`).
    pub syncs: u64,
    /// The statement of each round trip, in order (see [`label`]).
    pub statements: Vec<String>,
}

/// Where the parser is in the stream.
#[derive(Debug)]
enum State {
    /// Reading the next message's type and length.
    Header { bytes: [u8; 5], filled: usize },
    /// Reading a message's payload; the first [`CAPTURE_LIMIT`] bytes are
    /// kept for the messages whose SQL matters.
    Payload {
        kind: u8,
        remaining: usize,
        kept: Option<Vec<u8>>,
    },
}

impl Default for State {
    fn default() -> Self {
        State::Header {
            bytes: [0; 5],
            filled: 0,
        }
    }
}

/// One client's stream of typed messages.
#[derive(Debug, Default)]
pub struct FrontendParser {
    state: State,
    /// Prepared statements by name: their SQL's label.
    prepared: HashMap<String, String>,
    /// What the batch up to the next `Sync` runs.
    batch: Option<String>,
}

impl FrontendParser {
    /// Take the next `bytes` of the stream; the round trips they complete.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Seen {
        let mut seen = Seen::default();
        while !bytes.is_empty() {
            match &mut self.state {
                State::Header {
                    bytes: header,
                    filled,
                } => {
                    let n = (header.len() - *filled).min(bytes.len());
                    header[*filled..*filled + n].copy_from_slice(&bytes[..n]);
                    *filled += n;
                    bytes = &bytes[n..];
                    if *filled == header.len() {
                        let kind = header[0];
                        let length =
                            u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
                        let remaining = (length as usize).saturating_sub(4);
                        let kept = matches!(kind, b'Q' | b'P' | b'B').then(Vec::new);
                        self.state = State::Payload {
                            kind,
                            remaining,
                            kept,
                        };
                    }
                }
                State::Payload {
                    remaining, kept, ..
                } => {
                    let n = (*remaining).min(bytes.len());
                    if let Some(kept) = kept {
                        let room = CAPTURE_LIMIT.saturating_sub(kept.len()).min(n);
                        kept.extend_from_slice(&bytes[..room]);
                    }
                    *remaining -= n;
                    bytes = &bytes[n..];
                }
            }
            if let State::Payload {
                kind,
                remaining: 0,
                kept,
            } = &mut self.state
            {
                let (kind, kept) = (*kind, kept.take().unwrap_or_default());
                self.state = State::default();
                self.message(kind, &kept, &mut seen);
            }
        }
        seen
    }

    /// Act on a complete message of type `kind` (`payload` as kept).
    fn message(&mut self, kind: u8, payload: &[u8], seen: &mut Seen) {
        let mut fields = payload.split(|b| *b == 0);
        let mut field = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        match kind {
            b'Q' => {
                seen.queries += 1;
                seen.statements.push(label(&field()));
            }
            b'P' => {
                let (name, sql) = (field(), label(&field()));
                self.batch.get_or_insert_with(|| sql.clone());
                self.prepared.insert(name, sql);
            }
            b'B' => {
                let (_portal, name) = (field(), field());
                if let Some(sql) = self.prepared.get(&name) {
                    self.batch = Some(sql.clone());
                }
            }
            b'S' => {
                seen.syncs += 1;
                seen.statements
                    .push(self.batch.take().unwrap_or_else(|| SYNC_ALONE.into()));
            }
            _ => {}
        }
    }
}

/// A short name for `sql`: whitespace collapsed, a `SELECT`'s column list
/// left out (`SELECT … FROM runs WHERE id = $1`), at most [`LABEL_LEN`]
/// characters.
pub fn label(sql: &str) -> String {
    let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let upper = collapsed.to_ascii_uppercase();
    let short = match upper.find(" FROM ") {
        Some(from) if upper.starts_with("SELECT ") && !upper.starts_with("SELECT COUNT") => {
            format!("SELECT …{}", &collapsed[from..])
        }
        _ => collapsed,
    };
    match short.char_indices().nth(LABEL_LEN) {
        Some((cut, _)) => format!("{}…", &short[..cut]),
        None => short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typed message: type byte, length, payload.
    fn message(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(payload.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn round_trips_are_counted_and_named_however_the_stream_is_cut() {
        // Payloads full of the bytes counted, so a parser that looked at
        // them instead of skipping would count too many.
        let mut stream = Vec::new();
        stream.extend(message(b'Q', b"BEGIN\0"));
        // Prepare only (parse, describe, sync), then execute twice by name.
        stream.extend(message(
            b'P',
            b"s1\0SELECT id,\n  status FROM runs WHERE id = $1\0\0\0",
        ));
        stream.extend(message(b'D', b"Ss1\0"));
        stream.extend(message(b'S', b""));
        for _ in 0..2 {
            stream.extend(message(b'B', b"\0s1\0\0\0\0\x01QQSS\0\0"));
            stream.extend(message(b'E', b"\0\0\0\0\0"));
            stream.extend(message(b'S', b""));
        }
        stream.extend(message(b'S', b""));
        stream.extend(message(b'Q', b"COMMIT\0"));
        stream.extend(message(b'X', b""));
        let select = "SELECT … FROM runs WHERE id = $1".to_string();
        let expected = Seen {
            queries: 2,
            syncs: 4,
            statements: vec![
                "BEGIN".into(),
                select.clone(),
                select.clone(),
                select,
                SYNC_ALONE.into(),
                "COMMIT".into(),
            ],
        };
        for piece in [1, 2, 3, 5, 7, stream.len()] {
            let mut parser = FrontendParser::default();
            let mut total = Seen::default();
            for chunk in stream.chunks(piece) {
                let seen = parser.feed(chunk);
                total.queries += seen.queries;
                total.syncs += seen.syncs;
                total.statements.extend(seen.statements);
            }
            assert_eq!(total, expected, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn long_statements_get_short_labels() {
        assert_eq!(
            label("SELECT COUNT(*) FROM runs"),
            "SELECT COUNT(*) FROM runs"
        );
        let long = format!("UPDATE runs SET {} WHERE id = $1", "a = 1, ".repeat(40));
        let short = label(&long);
        assert_eq!(short.chars().count(), LABEL_LEN + 1);
        assert!(short.ends_with('…'), "{short}");
    }
}
