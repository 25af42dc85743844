//! A TCP proxy between a test server and its database, to take the
//! database away and bring it back without touching the database server.
//!
//! - [`Proxy::cut`] drops every open connection and closes the listening
//!   port, so new connections are refused (as when PostgreSQL is down);
//!   [`Proxy::restore`] listens on the same port again.
//! - [`Proxy::pause`] holds the bytes in flight without closing anything
//!   (a database that has stopped answering); [`Proxy::resume`] forwards
//!   them.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forward both ways.
    Open,
    /// Keep connections, forward nothing.
    Paused,
    /// No connections, port closed.
    Cut,
}

/// A TCP proxy on `127.0.0.1` forwarding to one target address.
pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    listening: watch::Receiver<bool>,
    holding: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy on a free port of 127.0.0.1 that forwards to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("proxy listens");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, mode_rx) = watch::channel(Mode::Open);
        let (listening_tx, listening) = watch::channel(true);
        let holding = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            addr,
            target,
            mode_rx,
            listening_tx,
            holding.clone(),
        ));
        Self {
            addr,
            mode,
            listening,
            holding,
            task,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every open connection and stops listening: new connections
    /// are refused until [`Proxy::restore`]. Returns once the port is closed.
    pub async fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
        self.wait_listening(false).await;
    }

    /// Listens again on the same port and forwards new connections.
    /// Returns once the port is open.
    pub async fn restore(&self) {
        self.mode.send_replace(Mode::Open);
        self.wait_listening(true).await;
    }

    /// Stops forwarding bytes, in both directions, without closing any
    /// connection; new connections are accepted but get nothing through.
    pub fn pause(&self) {
        self.mode.send_replace(Mode::Paused);
    }

    /// Forwards the held bytes and everything after them.
    pub fn resume(&self) {
        self.mode.send_replace(Mode::Open);
    }

    /// How many directions of connections hold bytes while paused (more
    /// than zero: someone is waiting on the other side).
    pub fn holding(&self) -> usize {
        self.holding.load(Ordering::SeqCst)
    }

    async fn wait_listening(&self, want: bool) {
        let mut listening = self.listening.clone();
        tokio::time::timeout(Duration::from_secs(10), listening.wait_for(|l| *l == want))
            .await
            .expect("the proxy changes state within 10 s")
            .expect("the proxy runs");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Cut);
        self.task.abort();
    }
}

/// A listener on `addr` that may take over a port that the proxy itself
/// closed a moment ago (its connections may still be in TIME_WAIT).
async fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Listens again on the proxy's port, retrying for a few seconds.
async fn relisten(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match listen(addr).await {
            Ok(listener) => return listener,
            Err(err) if Instant::now() < deadline => {
                eprintln!("proxy: cannot listen on {addr} yet: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("proxy: cannot listen on {addr} again: {err}"),
        }
    }
}

async fn accept_loop(
    first: TcpListener,
    addr: SocketAddr,
    target: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    listening: watch::Sender<bool>,
    holding: Arc<AtomicUsize>,
) {
    let mut listener = Some(first);
    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Cut {
            // Dropping the listener closes the port: connections are refused.
            listener = None;
            listening.send_replace(false);
            if mode.wait_for(|m| *m != Mode::Cut).await.is_err() {
                return;
            }
            continue;
        }
        let Some(open) = &listener else {
            listener = Some(relisten(addr).await);
            listening.send_replace(true);
            continue;
        };
        tokio::select! {
            accepted = open.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(forward(client, target, mode.clone(), holding.clone()));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Forwards one connection until either side closes it or the proxy is cut.
async fn forward(
    client: TcpStream,
    target: SocketAddr,
    mode: watch::Receiver<Mode>,
    holding: Arc<AtomicUsize>,
) {
    let Ok(upstream) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let mut cut = mode.clone();
    tokio::select! {
        () = pipe(client_read, upstream_write, mode.clone(), holding.clone()) => {}
        () = pipe(upstream_read, client_write, mode, holding) => {}
        _ = async { cut.wait_for(|m| *m == Mode::Cut).await.map(|_| ()) } => {}
    }
    // Dropping both streams closes the connection on both sides.
}

/// Counts a direction that holds bytes while paused, for as long as it does.
struct Holding(Arc<AtomicUsize>);

impl Holding {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Copies bytes from `from` to `to`, holding them while the proxy is paused.
async fn pipe(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut mode: watch::Receiver<Mode>,
    holding: Arc<AtomicUsize>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let paused = *mode.borrow_and_update() == Mode::Paused;
        if paused {
            let _held = Holding::new(holding.clone());
            let resumed = mode
                .wait_for(|m| *m != Mode::Paused)
                .await
                .map(|m| *m == Mode::Open);
            if !matches!(resumed, Ok(true)) {
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
