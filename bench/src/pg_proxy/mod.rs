//! A counting TCP proxy in front of PostgreSQL, so a benchmark can say how
//! many database round trips its processes made.
//!
//! Clients connect to the proxy's 127.0.0.1 port as if it were the server;
//! every byte is forwarded both ways unchanged. The client's side is parsed
//! as the PostgreSQL frontend protocol: the untyped startup packet first,
//! then typed messages (one type byte, a 4-byte big-endian length that
//! counts itself, the payload). A round trip is a message the client then
//! waits on the server for: a simple query (`Q`) or the `Sync` (`S`) that
//! ends an extended-protocol batch (parse, bind, execute); each is counted
//! under the statement it ran ([`frontend`]).
//!
//! The proxy speaks plain TCP. An `SSLRequest` (or `GSSENCRequest`) is
//! answered `N` by the proxy itself, as a server without TLS does, and the
//! client goes on with its startup packet in the clear.

pub mod frontend;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The startup code of an `SSLRequest`.
const SSL_REQUEST: u32 = 80_877_103;
/// The startup code of a `GSSENCRequest`.
const GSSENC_REQUEST: u32 = 80_877_104;
/// The largest startup packet accepted (PostgreSQL's own limit is 10,000).
const MAX_STARTUP_LEN: usize = 10_000;

/// What the clients of a proxy sent, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTrips {
    /// Simple queries (`Q`).
    pub queries: u64,
    /// Extended-protocol batches ended by `Sync` (`S`).
    pub syncs: u64,
    /// Client connections accepted.
    pub connections: u64,
    /// Round trips by the statement they ran ([`frontend::label`]).
    pub by_statement: BTreeMap<String, u64>,
}

impl RoundTrips {
    /// Round trips: simple queries plus syncs.
    pub fn total(&self) -> u64 {
        self.queries + self.syncs
    }

    /// What was counted between `earlier` and this snapshot.
    pub fn since(&self, earlier: &RoundTrips) -> RoundTrips {
        RoundTrips {
            queries: self.queries.saturating_sub(earlier.queries),
            syncs: self.syncs.saturating_sub(earlier.syncs),
            connections: self.connections.saturating_sub(earlier.connections),
            by_statement: self
                .by_statement
                .iter()
                .map(|(sql, n)| {
                    let before = earlier.by_statement.get(sql).copied().unwrap_or(0);
                    (sql.clone(), n.saturating_sub(before))
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }

    /// The statements with the most round trips, most first, at most `n`.
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self
            .by_statement
            .iter()
            .map(|(sql, count)| (sql.as_str(), *count))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }

    /// Add what one read of a client's stream completed.
    fn add(&mut self, seen: frontend::Seen) {
        self.queries += seen.queries;
        self.syncs += seen.syncs;
        for sql in seen.statements {
            *self.by_statement.entry(sql).or_default() += 1;
        }
    }
}

/// The counts of one proxy, shared by its connections.
type Counters = Arc<Mutex<RoundTrips>>;

fn lock(counters: &Mutex<RoundTrips>) -> std::sync::MutexGuard<'_, RoundTrips> {
    counters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A proxy listening on `127.0.0.1:<ephemeral port>` that forwards to one
/// PostgreSQL server. Dropping it stops accepting and closes its
/// connections.
pub struct PgProxy {
    addr: SocketAddr,
    counters: Counters,
    accept_task: JoinHandle<()>,
}

impl PgProxy {
    /// Listen on 127.0.0.1 and forward each connection to `upstream`
    /// (`host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<PgProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Counters::default();
        let accept_task = tokio::spawn(accept_loop(
            listener,
            upstream.to_string(),
            counters.clone(),
        ));
        Ok(PgProxy {
            addr,
            counters,
            accept_task,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What has been counted so far.
    pub fn round_trips(&self) -> RoundTrips {
        lock(&self.counters).clone()
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl std::fmt::Debug for PgProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgProxy")
            .field("addr", &self.addr)
            .field("round_trips", &self.round_trips().total())
            .finish_non_exhaustive()
    }
}

/// Accept until aborted; the connections live in a `JoinSet` owned by this
/// task, so aborting it closes them too.
async fn accept_loop(listener: TcpListener, upstream: String, counters: Counters) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = client.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        lock(&counters).connections += 1;
        let (upstream, counters) = (upstream.clone(), counters.clone());
        connections.spawn(async move {
            // A client or server that hangs up ends the connection; nothing
            // to report beyond what the client itself sees.
            let _ = relay(client, &upstream, &counters).await;
        });
    }
}

/// Serve one client: answer its TLS requests, forward its startup packet,
/// then copy both ways, counting what the client sends.
async fn relay(
    mut client: TcpStream,
    upstream: &str,
    counters: &Mutex<RoundTrips>,
) -> std::io::Result<()> {
    let startup = read_startup(&mut client).await?;
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    server.write_all(&startup).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    let upward = async {
        let mut parser = frontend::FrontendParser::default();
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buffer).await?;
            if n == 0 {
                return server_write.shutdown().await;
            }
            let seen = parser.feed(&buffer[..n]);
            if !seen.statements.is_empty() {
                lock(counters).add(seen);
            }
            server_write.write_all(&buffer[..n]).await?;
        }
    };
    let downward = async {
        let mut server_read = server_read;
        tokio::io::copy(&mut server_read, &mut client_write).await
    };
    tokio::select! {
        result = upward => result,
        result = downward => result.map(|_| ()),
    }
}

/// Read the client's startup packet, answering `N` to any `SSLRequest` or
/// `GSSENCRequest` before it; the packet to forward (length included).
async fn read_startup<S>(client: &mut S) -> std::io::Result<Vec<u8>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let mut length = [0u8; 4];
        client.read_exact(&mut length).await?;
        let length = u32::from_be_bytes(length) as usize;
        if !(8..=MAX_STARTUP_LEN).contains(&length) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a startup packet of {length} bytes"),
            ));
        }
        let mut packet = vec![0u8; length];
        packet[..4].copy_from_slice(&(length as u32).to_be_bytes());
        client.read_exact(&mut packet[4..]).await?;
        let code = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        if code == SSL_REQUEST || code == GSSENC_REQUEST {
            client.write_all(b"N").await?;
            continue;
        }
        return Ok(packet);
    }
}

/// The `(prefix, host:port, rest)` of a `postgres://user@host:port/db?...` URL.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    Some((
        &url[..scheme_end + host_start],
        &authority[host_start..],
        &rest[authority_end..],
    ))
}

/// The server's `host:port` in a `postgres://` URL (port 5432 when it
/// names none), for [`PgProxy::start`]; `None` for a URL without `://`.
pub fn server_of(url: &str) -> Option<String> {
    let (_, host, _) = split_url(url)?;
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    Some(if has_port {
        host.to_string()
    } else {
        format!("{host}:5432")
    })
}

/// `url` with its server replaced by `proxy` and TLS turned off
/// (`sslmode=disable`): what a client of the proxy connects with.
pub fn url_through(url: &str, proxy: SocketAddr) -> Option<String> {
    let (prefix, _, rest) = split_url(url)?;
    let sep = if rest.contains('?') { '&' } else { '?' };
    Some(format!("{prefix}{proxy}{rest}{sep}sslmode=disable"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tls_request_is_declined_and_the_startup_packet_follows() {
        let (mut client, mut proxy_side) = tokio::io::duplex(1024);
        let mut ssl = 8u32.to_be_bytes().to_vec();
        ssl.extend_from_slice(&SSL_REQUEST.to_be_bytes());
        let mut startup = 17u32.to_be_bytes().to_vec();
        startup.extend_from_slice(&196_608u32.to_be_bytes());
        startup.extend_from_slice(b"user\0pg\0\0");
        client.write_all(&ssl).await.expect("written");
        client.write_all(&startup).await.expect("written");
        let forwarded = read_startup(&mut proxy_side)
            .await
            .expect("a startup packet");
        assert_eq!(forwarded, startup);
        let mut answer = [0u8; 1];
        client.read_exact(&mut answer).await.expect("answered");
        assert_eq!(&answer, b"N");
    }

    #[test]
    fn urls_are_pointed_at_the_proxy() {
        let url = "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dx";
        assert_eq!(server_of(url).as_deref(), Some("127.0.0.1:5432"));
        assert_eq!(
            server_of("postgres://db.internal/app").as_deref(),
            Some("db.internal:5432")
        );
        assert_eq!(
            server_of("postgres://u:p@[::1]:6543").as_deref(),
            Some("[::1]:6543")
        );
        assert_eq!(
            server_of("postgres://[::1]/app").as_deref(),
            Some("[::1]:5432")
        );
        let proxy: SocketAddr = "127.0.0.1:40000".parse().expect("an address");
        assert_eq!(
            url_through(url, proxy).as_deref(),
            Some(
                "postgres://postgres@127.0.0.1:40000/test?options=-c%20search_path%3Dx&sslmode=disable"
            )
        );
        assert_eq!(
            url_through("postgres://127.0.0.1/test", proxy).as_deref(),
            Some("postgres://127.0.0.1:40000/test?sslmode=disable")
        );
    }

    /// Through the proxy to the PostgreSQL server the store's tests use
    /// (skipped when none answers, unless `WORKWAY_REQUIRE_POSTGRES=1`):
    /// the client asks for TLS, is declined by the proxy, and each
    /// execution of a prepared statement and each simple query is counted
    /// as one round trip.
    #[tokio::test]
    async fn a_real_clients_round_trips_are_counted() {
        use sqlx::{Connection as _, Executor as _};

        let admin = std::env::var("WORKWAY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| workway_store::testing::DEFAULT_POSTGRES_URL.to_string());
        let server = server_of(&admin).expect("a postgres:// URL");
        let proxy = PgProxy::start(&server).await.expect("the proxy listens");
        let (prefix, _, rest) = split_url(&admin).expect("a postgres:// URL");
        let sep = if rest.contains('?') { '&' } else { '?' };
        let url = format!("{prefix}{}{rest}{sep}sslmode=prefer", proxy.addr());
        let mut connection = match sqlx::PgConnection::connect(&url).await {
            Ok(connection) => connection,
            Err(e) if std::env::var("WORKWAY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!("WORKWAY_REQUIRE_POSTGRES=1 but {admin} is not reachable: {e}")
            }
            Err(e) => {
                eprintln!("skipping: {admin} is not reachable through the proxy ({e})");
                return;
            }
        };
        // A statement's first use prepares it (parse and describe, then a
        // sync): one round trip more than the later ones.
        let echo = async |connection: &mut sqlx::PgConnection, n: i64| {
            let echoed: i64 = sqlx::query_scalar("SELECT $1::BIGINT")
                .bind(n)
                .fetch_one(connection)
                .await
                .expect("the query runs");
            assert_eq!(echoed, n);
        };
        let unprepared = proxy.round_trips();
        echo(&mut connection, 0).await;
        let before = proxy.round_trips();
        assert_eq!(before.since(&unprepared).syncs, 2, "{before:?}");
        for n in 1..=3 {
            echo(&mut connection, n).await;
        }
        connection
            .execute(sqlx::raw_sql("SELECT 1"))
            .await
            .expect("the simple query runs");
        let counted = proxy.round_trips().since(&before);
        connection.close().await.expect("closed");
        assert_eq!((counted.syncs, counted.queries), (3, 1), "{counted:?}");
        assert_eq!(
            counted.top(5),
            vec![("SELECT $1::BIGINT", 3), ("SELECT 1", 1)],
            "{counted:?}"
        );
        assert_eq!(proxy.round_trips().connections, 1);
    }
}
