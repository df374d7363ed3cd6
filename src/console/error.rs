//! What can stop the console from starting.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console.listen `{0}` is not an ip:port address")]
    BadAddress(String),
    #[error(
        "refusing to serve the console on {0}, which is not a loopback address, without a \
         password: set console.password_hash (personabot hash-password), or listen on 127.0.0.1"
    )]
    OpenWithoutPassword(SocketAddr),
    #[error("console.password_hash is not an argon2 hash: {0}")]
    BadPasswordHash(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("console templates: {0}")]
    Templates(String),
}
