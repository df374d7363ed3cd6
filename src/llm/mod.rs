//! The async-openai adapter of the language-model port (`ports::language_model`): any
//! OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) behind our own timed client,
//! the circuit breaker every model use goes through (`breaker`), and the metrics and
//! readiness stamps of every call really made (`observed`, inside the breaker).

mod breaker;
mod observed;
mod openai;
mod profile;
mod queue;

pub use breaker::{Clock, GuardedModel, guarded};
pub use observed::{ObservedModel, observed};
pub use openai::OpenAiModel;
pub use queue::{CallQueue, Place};
