//! Ports: what the steps need from the outside world, as traits over domain types.
//!
//! Steps (`crate::steps`) and actors depend on these, never on serenity, async-openai or
//! SeaORM; the adapters (`discord`, `llm`, the StoreActor's handle) implement them, and
//! tests plug in their own.

pub mod channels;
pub mod chat_platform;
pub mod language_model;
pub mod store;
pub mod store_ops;

pub use channels::ChannelSink;
pub use chat_platform::{
    BanPort, ChatError, ChatGateway, ChatPort, ConnectionEnd, Outgoing, TypingGuard, UnbanError,
    UnbanOutcome,
};
pub use language_model::{
    CompletionRequest, LanguageModel, LlmError, Metered, ModelRole, Priority, Speech,
};
pub use store::StoreError;
