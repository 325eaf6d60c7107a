//! A database outage: the service answers 503 with a code while the database is unreachable and
//! recovers by itself, without a restart, once it is back.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::helpers::*;

/// A loopback TCP proxy to the database server that can be cut and restored on the same port:
/// cutting it closes the listener and every open connection, as a crashed server would.
pub struct Proxy {
    pub addr: SocketAddr,
    upstream: String,
    tasks: JoinSet<()>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            upstream: upstream.to_owned(),
            tasks: JoinSet::new(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    /// Aborting the accept task drops its `JoinSet`, which aborts every connection.
    pub async fn cut(&mut self) {
        self.tasks.shutdown().await;
    }

    pub async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

/// `host:port` of a `scheme://user@host:port/db` URL.
pub fn server_address(url: &str) -> String {
    let after_scheme = url.split_once("://").unwrap().1;
    let authority = after_scheme.split('/').next().unwrap();
    authority.rsplit('@').next().unwrap().to_owned()
}

async fn outage_gives_503_then_recovers(backend: Backend) {
    let Some(mut db) = create_database(backend).await else {
        return;
    };
    let upstream = server_address(&db.url);
    let mut proxy = Proxy::start(&upstream).await;
    db.url = db.url.replacen(&upstream, &proxy.addr.to_string(), 1);
    let app = start(db, "", &[]).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);

    proxy.cut().await;
    let res = app.get("/get-session").await;
    assert_eq!(res.status(), 503, "get-session during the outage");
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(error_code(res).await.1, "SERVICE_UNAVAILABLE");
    let res = app.sign_in(&email, PASSWORD).await;
    assert_eq!(res.status(), 503, "sign-in during the outage");
    assert_eq!(error_code(res).await.1, "SERVICE_UNAVAILABLE");
    let ready = app
        .anonymous()
        .get(format!("{}/ready", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    proxy.restore().await;
    let mut recovered = None;
    for _ in 0..40 {
        let res = app.get("/get-session").await;
        if res.status() == 200 {
            recovered = Some(res.json::<Value>().await.unwrap());
            break;
        }
        assert_eq!(res.status(), 503, "only 503 while the pool reconnects");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let session = recovered.expect("the service recovers without a restart");
    assert_eq!(session["user"]["email"], email.as_str());
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn postgres_outage_gives_503_then_recovers_without_restart() {
    outage_gives_503_then_recovers(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_outage_gives_503_then_recovers_without_restart() {
    outage_gives_503_then_recovers(Backend::MySql).await;
}
