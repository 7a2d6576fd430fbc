//! A lean keep-alive HTTP/1.1 client: one TCP connection, one request at a time.
//!
//! The load generator runs on the same cores as the server it measures, so the client does as
//! little as it can: no pool, no redirects, no decompression. Each [`Conn`] is one connection
//! that stays open between requests, as a keep-alive client's does.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The header that carries a starkeep token.
pub const TOKEN_HEADER: &str = "x-auth-token";

/// A request to send again and again: parsed once, cloned per send.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub uri: Uri,
    pub token: Option<HeaderValue>,
    pub body: Option<Bytes>,
}

impl Call {
    /// A call of `method` on `path_and_query`, with the token if given.
    pub fn new(method: Method, path_and_query: &str, token: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self {
            method,
            uri: path_and_query.parse()?,
            token: token.map(HeaderValue::from_str).transpose()?,
            body: None,
        })
    }

    pub fn get(path_and_query: &str, token: Option<&str>) -> anyhow::Result<Self> {
        Self::new(Method::GET, path_and_query, token)
    }

    /// The same call with a JSON body.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(Bytes::from(body.to_string()));
        self
    }
}

/// One kept-alive connection to a server.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the server or the client closes the connection.
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    /// Sends `call` and reads the whole answer.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(call.uri.clone())
            .body(Full::new(call.body.clone().unwrap_or_default()))?;
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        if let Some(token) = &call.token {
            headers.insert(TOKEN_HEADER, token.clone());
        }
        if call.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends `call` and reads the answer as JSON (`null` when it is not JSON).
    pub async fn send_json(
        &mut self,
        call: &Call,
    ) -> anyhow::Result<(StatusCode, serde_json::Value)> {
        let (status, body) = self.send(call).await?;
        Ok((
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        ))
    }
}
