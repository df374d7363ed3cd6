//! Binding and routing. A non-loopback address is refused unless a password is set; every
//! response carries a strict Content-Security-Policy (only this server's own stylesheet,
//! no scripts from anywhere else, no framing), and bodies are capped (tower-http layers).

use super::error::ConsoleError;
use super::pages::{activity, dashboard, members, persona, render_refusals, settings};
use super::state::Shared;
use super::{auth, csrf, setup, view};
use crate::config::ConsoleSettings;
use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Checks the address, binds it and serves until the returned sender fires.
pub async fn serve(
    settings: &ConsoleSettings,
    shared: Arc<Shared>,
) -> Result<(SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>), ConsoleError> {
    let addr = check_address(settings)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ConsoleError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ConsoleError::Bind { addr, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let loopback_only = addr.ip().is_loopback();
    let app = routes(shared).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            if loopback_only && !local_host(&req) {
                // A page elsewhere that made its own name resolve to 127.0.0.1 (DNS
                // rebinding) is not this console's page.
                return (
                    axum::http::StatusCode::MISDIRECTED_REQUEST,
                    "this console answers to localhost addresses only",
                )
                    .into_response();
            }
            next.run(req).await
        },
    ));
    let join = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the console stopped serving");
        }
    });
    Ok((addr, stop, join))
}

/// The listen address, refused when it is reachable from elsewhere and no password is set.
pub fn check_address(settings: &ConsoleSettings) -> Result<SocketAddr, ConsoleError> {
    let addr: SocketAddr = settings
        .listen
        .trim()
        .parse()
        .map_err(|_| ConsoleError::BadAddress(settings.listen.clone()))?;
    if !addr.ip().is_loopback() && settings.password_hash.trim().is_empty() {
        return Err(ConsoleError::OpenWithoutPassword(addr));
    }
    Ok(addr)
}

/// Whether the request's `Host` names this machine (`localhost`, `127.0.0.1`, `[::1]`).
fn local_host(req: &axum::extract::Request) -> bool {
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name.starts_with("127.")
}

fn routes(shared: Arc<Shared>) -> Router {
    let member = "/servers/{guild}/members/{user}";
    Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/setup", get(setup::page).post(setup::save))
        .route("/persona", get(persona::show))
        .route("/persona/add", post(persona::add))
        .route("/persona/{id}/edit", post(persona::edit))
        .route("/persona/{id}/remove", post(persona::remove))
        .route("/members", get(members::index))
        .route("/servers/{guild}/members", get(members::list))
        .route(member, get(members::show))
        .route(&format!("{member}/facts/add"), post(members::add_fact))
        .route(
            &format!("{member}/facts/{{id}}/edit"),
            post(members::edit_fact),
        )
        .route(
            &format!("{member}/facts/{{id}}/delete"),
            post(members::delete_fact),
        )
        .route(&format!("{member}/export"), get(members::export))
        .route(&format!("{member}/erase"), post(members::erase))
        .route("/settings", get(settings::show))
        .route("/settings/{guild}", post(settings::save))
        .route(
            "/settings/{guild}/channels/{channel}",
            post(settings::save_channel),
        )
        .route("/activity", get(activity::show))
        .route("/activity/log", get(activity::log_stream))
        .route("/activity/consolidate", post(activity::consolidate))
        .route("/activity/status", post(activity::regenerate_status))
        .route("/ops/{*route}", get(ops_routes))
        .route("/static/console.css", get(stylesheet))
        .route("/static/console.js", get(script))
        // Inside the session layer: a refusal is worded on a page with the operator's session.
        .layer(from_fn_with_state(shared.clone(), render_refusals))
        .layer(from_fn(csrf::require_token))
        .layer(from_fn_with_state(shared.clone(), auth::ensure_session))
        .layer(RequestBodyLimitLayer::new(csrf::MAX_FORM))
        .layer(header(CONTENT_SECURITY_POLICY, CSP))
        .layer(header(X_FRAME_OPTIONS, "DENY"))
        .layer(header(X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(REFERRER_POLICY, "no-referrer"))
        .with_state(shared)
}

fn header(
    name: axum::http::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        view::STYLESHEET,
    )
}

/// The ops routes (`/ops/metrics`, `/ops/healthz`, `/ops/readyz`) for the logged-in
/// operator, served by `ops::router` itself over the running bot's ops state.
async fn ops_routes(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    _authed: auth::Authed,
    axum::extract::Path(route): axum::extract::Path<String>,
) -> axum::response::Response {
    use tower::Service as _;
    let Some(state) = shared.bot().and_then(|bot| bot.ops.clone()) else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the bot is not running\n",
        )
            .into_response();
    };
    let request = axum::http::Request::get(format!("/{route}"))
        .body(axum::body::Body::empty())
        .unwrap_or_default();
    match crate::ops::router(state).call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

async fn script() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        view::SCRIPT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(addr: &str, hash: &str) -> ConsoleSettings {
        ConsoleSettings {
            enabled: true,
            listen: addr.into(),
            password_hash: hash.into(),
        }
    }

    #[test]
    fn open_addresses_need_a_password() {
        assert!(check_address(&listen("127.0.0.1:0", "")).is_ok());
        assert!(check_address(&listen("[::1]:8080", "")).is_ok());
        assert!(matches!(
            check_address(&listen("0.0.0.0:8080", "")),
            Err(ConsoleError::OpenWithoutPassword(_))
        ));
        assert!(check_address(&listen("0.0.0.0:8080", "$argon2id$v=19$...")).is_ok());
        assert!(matches!(
            check_address(&listen("localhost", "")),
            Err(ConsoleError::BadAddress(_))
        ));
    }
}
