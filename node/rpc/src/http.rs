//! Plain-HTTP routes beside JSON-RPC on the RPC port: `GET /metrics`, `GET /health`, and
//! CORS for browsers.
//!
//! One tower layer in front of jsonrpsee's service: it answers its own routes and CORS
//! preflights, and passes everything else (JSON-RPC over HTTP, WebSocket upgrades) through,
//! adding `Access-Control-Allow-Origin: *` to the answer.
//!
//! CORS is written out here rather than taken from tower-http: the policy is "any origin,
//! no credentials", three headers, and tower-http's `cors` feature would rebuild alloy's
//! HTTP stack (which uses tower-http without it).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};

use super::server::MetricsRender;

/// Path of the Prometheus scrape endpoint.
pub const METRICS_PATH: &str = "/metrics";
/// Path of the liveness probe.
pub const HEALTH_PATH: &str = "/health";
/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "86400";
/// Methods a browser may use cross-origin.
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";

/// Adds the plain-HTTP routes and CORS to jsonrpsee's HTTP service.
#[derive(Clone)]
pub(crate) struct HttpRoutesLayer {
    metrics: Option<MetricsRender>,
}

impl HttpRoutesLayer {
    /// Without a renderer, `GET /metrics` answers 404.
    pub(crate) fn new(metrics: Option<MetricsRender>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for HttpRoutesLayer {
    type Service = HttpRoutes<S>;

    fn layer(&self, inner: S) -> HttpRoutes<S> {
        HttpRoutes {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`HttpRoutesLayer`] wraps around jsonrpsee's.
#[derive(Clone)]
pub(crate) struct HttpRoutes<S> {
    inner: S,
    metrics: Option<MetricsRender>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

impl<S> Service<HttpRequest> for HttpRoutes<S>
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> BoxFuture {
        if let Some(response) = self.own_route(&request) {
            return Box::pin(std::future::ready(Ok(response)));
        }
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            Ok(response)
        })
    }
}

impl<S> HttpRoutes<S> {
    /// The answer to a request this layer handles itself, or `None` to pass it on.
    fn own_route(&self, request: &HttpRequest) -> Option<HttpResponse> {
        let method = request.method();
        let path = request.uri().path();
        if method == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Some(preflight(request));
        }
        if method != Method::GET {
            return None;
        }
        match path {
            METRICS_PATH => Some(match &self.metrics {
                Some(render) => text(StatusCode::OK, METRICS_CONTENT_TYPE, render()),
                None => text(
                    StatusCode::NOT_FOUND,
                    "text/plain; charset=utf-8",
                    "metrics are not enabled on this node\n".into(),
                ),
            }),
            HEALTH_PATH => Some(text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                "ok".into(),
            )),
            _ => None,
        }
    }
}

/// The answer to a CORS preflight: any origin, the methods above, the headers asked for.
fn preflight(request: &HttpRequest) -> HttpResponse {
    let allow_headers = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type"));
    let mut response = HttpResponse::new(HttpBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    response
}

/// A plain-text answer (also CORS-readable).
fn text(status: StatusCode, content_type: &'static str, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
